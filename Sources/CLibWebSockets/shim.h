// Helpers for what Swift cannot import from libwebsockets.h: macros and compound constants.
#ifndef VIGRELAY_LWS_SHIM_H
#define VIGRELAY_LWS_SHIM_H
#include <libwebsockets.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>
#include <ev.h>
#include <sys/timerfd.h>
#include <time.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

/// Bytes lws needs in front of every buffer passed to lws_write.
static inline size_t vr_lws_pre(void) { return LWS_PRE; }
// The load client writes a WebSocket frame header (at most 14 bytes) in those bytes itself.
_Static_assert(LWS_PRE >= 14, "LWS_PRE must hold a WebSocket frame header");

/// Writes a WebSocket ping carrying the text `payload` (at most 125 bytes) from `buffer`, which has
/// LWS_PRE bytes free in front of it. Returns what lws_write returns.
static inline int vr_write_ping(struct lws *wsi, unsigned char *buffer, const char *payload) {
    size_t length = strlen(payload);
    memcpy(buffer, payload, length);
    return lws_write(wsi, buffer, length, LWS_WRITE_PING);
}

/// Writes a pong carrying `length` bytes of `payload` (at most 125); `buffer` must have LWS_PRE bytes
/// of headroom before it and room for the payload.
static inline int vr_write_pong(struct lws *wsi, unsigned char *buffer, const unsigned char *payload, size_t length) {
    if (length > 125) length = 125;
    if (length) memcpy(buffer, payload, length);
    return lws_write(wsi, buffer, length, LWS_WRITE_PONG);
}

/// Sets lws's log level with no emitter (errors and warnings to stderr).
static inline void vr_lws_set_log_level(int level) { lws_set_log_level(level, NULL); }

/// A libev loop on epoll (libev's best backend if epoll is unavailable), for lws to run on as a
/// foreign loop (LWS_SERVER_OPTION_LIBEV): lws's own loop polls every socket each turn.
static inline struct ev_loop *vr_ev_loop_new(void) {
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    return loop ? loop : ev_loop_new(EVFLAG_AUTO);
}

/// lws_create_context with the context on `loop` (a foreign libev loop: lws installs no signal
/// handlers and the caller runs the loop); `info` is left as it was given.
static inline struct lws_context *vr_lws_create_context_on_ev(struct lws_context_creation_info *info, struct ev_loop *loop) {
    void *loops[1] = { loop };
    struct lws_context_creation_info on_ev = *info;
    on_ev.options |= LWS_SERVER_OPTION_LIBEV;
    on_ev.foreign_loops = loops;
    return lws_create_context(&on_ev);
}

/// One turn of a libev loop: waits for events or a timer, handles them, returns.
static inline void vr_ev_run_once(struct ev_loop *loop) { ev_run(loop, EVRUN_ONCE); }

/// A timer on an lws context's thread: lws's scheduled-callback entry, and what to call with which
/// pointer when it fires. lws keeps a pointer to it while scheduled, so it must not move: allocate it.
typedef struct vr_timer {
    lws_sorted_usec_list_t sul;
    void *user;
    void (*fire)(void *user);
} vr_timer_t;

static inline void vr_timer_fired(lws_sorted_usec_list_t *sul) {
    vr_timer_t *timer = lws_container_of(sul, vr_timer_t, sul);
    timer->fire(timer->user);
}

/// (Re)schedules `timer` to fire `us` microseconds from now on the context's (only) service thread;
/// a pending schedule is replaced. Call on that thread.
static inline void vr_timer_schedule(struct lws_context *context, vr_timer_t *timer, lws_usec_t us) {
    lws_sul_schedule(context, 0, &timer->sul, vr_timer_fired, us);
}

/// The calling thread's kernel id (for /proc/self/task/TID), which Swift's Glibc does not export.
static inline int vr_gettid(void) { return (int)syscall(SYS_gettid); }

/// A WebSocket whose received bytes our code reads itself, the relay's (`ServiceLoop+Reading`) and
/// the client's (`WebSocketClientConnection`): a libev watcher on the connection's socket, and what
/// to call with which pointer when it is readable.
typedef struct vr_reader {
    ev_io io;
    SSL *ssl;
    void *user;
    void (*fire)(void *user);
} vr_reader_t;

static inline void vr_reader_fired(struct ev_loop *loop, ev_io *watcher, int revents) {
    (void)loop; (void)revents;
    vr_reader_t *reader = (vr_reader_t *)watcher;
    reader->fire(reader->user);
}

/// A reader of `wsi`'s socket that calls `fire(user)` when it is readable, not started yet; NULL
/// when out of memory or `wsi` has no TLS. Free it with `vr_reader_free` (libev keeps a pointer to it
/// while it is started).
///
/// Bytes read ahead from the socket (by a BIO such as `vr_read_ahead_install`'s, or OpenSSL's own
/// read-ahead) wait where the socket's readiness does not show them: whoever stops reading with
/// some there calls `vr_reader_kick` (and `vr_reader_set` does on starting).
static inline vr_reader_t *vr_reader_new(struct lws *wsi, void *user, void (*fire)(void *user)) {
    SSL *ssl = lws_get_ssl(wsi);
    if (!ssl) return NULL;
    vr_reader_t *reader = (vr_reader_t *)calloc(1, sizeof(vr_reader_t));
    if (!reader) return NULL;
    reader->ssl = ssl;
    reader->user = user;
    reader->fire = fire;
    ev_io_init(&reader->io, vr_reader_fired, lws_get_socket_fd(wsi), EV_READ);
    return reader;
}

/// Whether bytes wait that no `SSL_read` has returned yet: in OpenSSL, or read ahead by its read BIO.
static inline int vr_reader_has_pending(const vr_reader_t *reader) {
    return SSL_has_pending(reader->ssl) || BIO_ctrl_pending(SSL_get_rbio(reader->ssl)) > 0;
}

/// If the reader is started and bytes wait (`vr_reader_has_pending`), has libev call it again in its
/// next turn, as if the socket were readable.
static inline void vr_reader_kick(struct ev_loop *loop, vr_reader_t *reader) {
    if (ev_is_active(&reader->io) && vr_reader_has_pending(reader)) ev_feed_event(loop, &reader->io, EV_READ);
}

/// Starts (`on` nonzero) or stops watching on `loop` (lws's own loop, the thread's); either may be
/// asked again. Starting also kicks the reader for what OpenSSL holds.
static inline void vr_reader_set(struct ev_loop *loop, vr_reader_t *reader, int on) {
    if (on && !ev_is_active(&reader->io)) ev_io_start(loop, &reader->io);
    if (!on && ev_is_active(&reader->io)) ev_io_stop(loop, &reader->io);
    if (on) vr_reader_kick(loop, reader);
}

/// Whether the reader is started.
static inline int vr_reader_is_on(const vr_reader_t *reader) { return ev_is_active(&reader->io); }

/// Stops the reader and frees it (before lws closes the socket).
static inline void vr_reader_free(struct ev_loop *loop, vr_reader_t *reader) {
    vr_reader_set(loop, reader, 0);
    free(reader);
}

/// Reads decrypted bytes of `wsi`'s TLS connection into `buffer`: the count read, 0 when nothing
/// is there now, -1 when the connection was closed or failed.
static inline int vr_tls_read(struct lws *wsi, void *buffer, int length) {
    SSL *ssl = lws_get_ssl(wsi);
    if (!ssl) return -1;
    ERR_clear_error();
    int n = SSL_read(ssl, buffer, length);
    if (n > 0) return n;
    int error = SSL_get_error(ssl, n);
    return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/// A precise alarm on a libev loop: a watcher on a timerfd (CLOCK_MONOTONIC), which fires when the
/// kernel's timer does. libev's own timers end its `epoll_wait`, whose timeout is in whole
/// milliseconds (rounded up), so they fire up to a millisecond late; the load client's lws threads
/// write paced frames when due with this instead (`ClientLoop.wake(_:at:)`).
typedef struct vr_alarm {
    ev_io io;
    void *user;
    void (*fire)(void *user);
} vr_alarm_t;

static inline void vr_alarm_fired(struct ev_loop *loop, ev_io *watcher, int revents) {
    (void)loop; (void)revents;
    vr_alarm_t *alarm = (vr_alarm_t *)watcher;
    uint64_t expirations;
    if (read(alarm->io.fd, &expirations, sizeof expirations) < 0) { /* not expired after all (re-armed) */ }
    alarm->fire(alarm->user);
}

/// An alarm started on `loop` that calls `fire(user)` on the loop's thread when it goes off; not set
/// yet. NULL when out of memory or file descriptors. Free it with `vr_alarm_free` on that thread.
static inline vr_alarm_t *vr_alarm_new(struct ev_loop *loop, void *user, void (*fire)(void *user)) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return NULL;
    vr_alarm_t *alarm = (vr_alarm_t *)calloc(1, sizeof(vr_alarm_t));
    if (!alarm) { close(fd); return NULL; }
    alarm->user = user;
    alarm->fire = fire;
    ev_io_init(&alarm->io, vr_alarm_fired, fd, EV_READ);
    ev_io_start(loop, &alarm->io);
    return alarm;
}

/// Sets the alarm to go off when CLOCK_MONOTONIC reads `nanoseconds` (at once if it already has);
/// 0 disarms it. Any thread (a timerfd may be set from anywhere; the watcher runs on the loop's).
/// Returns timerfd_settime's result (0, or -1 with errno).
static inline int vr_alarm_set(const vr_alarm_t *alarm, uint64_t nanoseconds) {
    struct itimerspec when = {0};
    when.it_value.tv_sec = (time_t)(nanoseconds / 1000000000u);
    when.it_value.tv_nsec = (long)(nanoseconds % 1000000000u);
    return timerfd_settime(alarm->io.fd, TFD_TIMER_ABSTIME, &when, NULL);
}

/// Stops the alarm, closes its timerfd and frees it. The loop's thread.
static inline void vr_alarm_free(struct ev_loop *loop, vr_alarm_t *alarm) {
    ev_io_stop(loop, &alarm->io);
    close(alarm->io.fd);
    free(alarm);
}

/// The chain certificates (without the leaf) of an SSL_CTX's current certificate, or NULL: what
/// SSL_CTX_use_certificate_chain_file read after the first certificate. Owned by the SSL_CTX.
static inline STACK_OF(X509) *vr_ssl_ctx_chain(SSL_CTX *ctx) {
    STACK_OF(X509) *chain = NULL;
    return SSL_CTX_get0_chain_certs(ctx, &chain) == 1 ? chain : NULL;
}

/// A PEM passphrase callback that gives none: an encrypted key fails to load instead of prompting on
/// the terminal (a running server has none to prompt on).
static inline int vr_no_passphrase(char *buf, int size, int rwflag, void *userdata) {
    (void)buf; (void)size; (void)rwflag; (void)userdata;
    return 0;
}

#endif
