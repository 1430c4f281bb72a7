// Helpers for what Swift cannot import from libwebsockets.h: macros and compound constants.
#ifndef VIGRELAY_LWS_SHIM_H
#define VIGRELAY_LWS_SHIM_H
#include <libwebsockets.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <ev.h>

/// Bytes lws needs in front of every buffer passed to lws_write.
static inline size_t vr_lws_pre(void) { return LWS_PRE; }

/// lws_write flags for one fragment of a WebSocket message.
static inline int vr_ws_flags(int binary, int first, int last) {
    return lws_write_ws_flags(binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT, first, last);
}

/// Sets lws's log level with no emitter (errors and warnings to stderr).
static inline void vr_lws_set_log_level(int level) { lws_set_log_level(level, NULL); }

/// The calling thread's kernel id (for /proc/self/task/TID), which Swift's Glibc does not export.
static inline int vr_gettid(void) { return (int)syscall(SYS_gettid); }

#endif
