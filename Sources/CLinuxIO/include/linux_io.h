// Linux facilities Swift's Glibc module does not export (they need _GNU_SOURCE, or are variadic).
#ifndef VIGRELAY_LINUX_IO_H
#define VIGRELAY_LINUX_IO_H

/// open(2)'s O_DIRECT: writes go from the caller's (aligned) buffer to the device, bypassing the page cache.
int vr_o_direct(void);

/// prctl(PR_SET_TIMERSLACK, 1): the calling thread's timed sleeps end when due, not up to the default
/// 50 us later (for a load generator that keeps time). Returns prctl's result (0, or -1 with errno).
int vr_precise_timers(void);

#endif
