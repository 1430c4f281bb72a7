#define _GNU_SOURCE
#include <fcntl.h>
#include "linux_io.h"

int vr_o_direct(void) { return O_DIRECT; }
