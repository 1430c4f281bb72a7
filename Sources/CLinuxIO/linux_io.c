#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/prctl.h>
#include "linux_io.h"

int vr_o_direct(void) { return O_DIRECT; }

int vr_precise_timers(void) { return prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }
