#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include "linux_io.h"

int vr_o_direct(void) { return O_DIRECT; }

int vr_keep_freed_memory(int trimBytes, int mmapBytes) {
    return mallopt(M_TRIM_THRESHOLD, trimBytes) == 1 && mallopt(M_MMAP_THRESHOLD, mmapBytes) == 1;
}

int vr_release_freed_memory(void) { return malloc_trim(0); }

int vr_syncfs(int fd) { return syncfs(fd); }

int vr_name_thread(const char *name) {
    char kept[16];
    strncpy(kept, name, sizeof kept - 1);
    kept[sizeof kept - 1] = 0;
    return pthread_setname_np(pthread_self(), kept);
}
