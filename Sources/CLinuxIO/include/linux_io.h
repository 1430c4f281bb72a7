// Linux facilities Swift's Glibc module does not export (they need _GNU_SOURCE, or are variadic).
#ifndef VIGRELAY_LINUX_IO_H
#define VIGRELAY_LINUX_IO_H

/// open(2)'s O_DIRECT: writes go from the caller's (aligned) buffer to the device, bypassing the page cache.
int vr_o_direct(void);

/// mallopt(3): freed heap memory is kept for reuse up to `trimBytes` at the top of each arena, and
/// blocks under `mmapBytes` come from the heap rather than an mmap of their own. glibc's defaults give
/// memory back as soon as 128 KiB lie free at an arena's top; the relay frees as fast as it
/// allocates (a camera frame freed by the disk writer once written, another read a moment later), so
/// those pages went back to the kernel only to be faulted in and zeroed again. Returns 1 when glibc
/// took both settings.
int vr_keep_freed_memory(int trimBytes, int mmapBytes);

/// malloc_trim(3): gives every whole free page of every arena back to the kernel (after a burst,
/// when what `vr_keep_freed_memory` kept is far more than the load needs). Returns 1 when memory
/// was released.
int vr_release_freed_memory(void);

/// Names the calling thread (at most 15 bytes are kept) for `top -H`, `ps -L` and `perf`. Foundation's
/// `Thread.name` reaches the kernel only if the starting thread has stored the new thread's handle by
/// the time the name is set, a race the new thread can win. Returns pthread_setname_np's result.
int vr_name_thread(const char *name);

/// syncfs(2): writes out and flushes everything dirty on the file system holding `fd` (one device
/// flush for all of it); since Linux 5.8 it reports the file system's write-back errors. Returns 0,
/// or -1 with errno.
int vr_syncfs(int fd);

#endif
