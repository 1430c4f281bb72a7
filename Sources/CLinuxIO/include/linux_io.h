// Linux file flags Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef VIGRELAY_LINUX_IO_H
#define VIGRELAY_LINUX_IO_H

/// open(2)'s O_DIRECT: writes go from the caller's (aligned) buffer to the device, bypassing the page cache.
int vr_o_direct(void);

#endif
