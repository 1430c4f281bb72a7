// A read BIO between OpenSSL and the socket that reads ahead: one `read` for many TLS records.
//
// Without read-ahead OpenSSL reads each record with two `read`s, its 5-byte header and then its body
// (at most 16 KiB and a little). With OpenSSL's own read-ahead (SSL_set_read_ahead) one `read` fills
// its record buffer, but before each record it moves everything still unread to the front of the
// buffer to align the payload (ssl3_read_n, OpenSSL 3.0), so a buffer of k records is copied about
// k/2 times over; a buffer large enough to take what a busy socket holds costs more in those moves
// than it saves in `read`s. This BIO keeps what it read in a buffer of its own and answers OpenSSL's
// asks from it, one copy of each byte, however many records one `read` brought. In bench scenario 1
// (a camera at full speed; four alternated pairs of runs, the same load generator) reads of up to
// 256 KiB took the relay from 1.55 `read`s and 0.78 `epoll_wait`s per 64 KiB frame to 0.25 and
// 0.005-0.026, and its CPU per GB relayed from 0.83-0.93 CPU-s to 0.77-0.88, lower in each pair (8%
// on average). Each of those calls had contended with the sender on the other core for the socket's
// and epoll's locks.
//
// A connection holds a buffer only from a `read` until OpenSSL has taken every byte of it, so an idle
// connection holds none. A released buffer is kept as the thread's spare and is what the next `read`
// on that thread fills: a thread reads its connections one after another, and each usually hands
// OpenSSL everything before the next one reads, so they share one buffer, warm in the cache, and no
// connection mallocs and frees 256 KiB per read (glibc also sweeps its fast bins at every free of 64
// KiB or more).
#include "tls_read_ahead.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>

typedef struct vr_ahead {
    unsigned char *buffer;  /// Allocated while it holds bytes: `buffer[start..<end]` unread.
    size_t start, end;
    size_t capacity;        /// The most one `read` takes.
} vr_ahead;

static BIO_METHOD *ahead_method;
static int ahead_type;

/// The current thread's spare buffer (see above), of `spareCapacity` bytes; it lives as long as the thread.
static _Thread_local unsigned char *spare;
static _Thread_local size_t spareCapacity;

/// A buffer of `capacity` bytes: the thread's spare when it fits, else a new one (NULL when out of memory).
static unsigned char *take_buffer(size_t capacity) {
    if (spare && spareCapacity == capacity) {
        unsigned char *buffer = spare;
        spare = NULL;
        return buffer;
    }
    return malloc(capacity);
}

/// Lets go of `ahead`'s buffer: it becomes the thread's spare when there is none.
static void release(vr_ahead *ahead) {
    if (ahead->buffer && !spare) {
        spare = ahead->buffer;
        spareCapacity = ahead->capacity;
    } else {
        free(ahead->buffer);
    }
    ahead->buffer = NULL;
    ahead->start = ahead->end = 0;
}

static int ahead_read(BIO *bio, char *data, int length) {
    vr_ahead *ahead = BIO_get_data(bio);
    BIO *next = BIO_next(bio);
    BIO_clear_retry_flags(bio);
    if (length <= 0 || !next) return 0;
    if (ahead->start == ahead->end) {
        if (!ahead->buffer) ahead->buffer = take_buffer(ahead->capacity);
        if (!ahead->buffer) {  // out of memory: this read goes to the socket directly
            int n = BIO_read(next, data, length);
            BIO_copy_next_retry(bio);
            return n;
        }
        size_t want = ahead->capacity > INT32_MAX ? INT32_MAX : ahead->capacity;
        int n = BIO_read(next, ahead->buffer, (int)want);
        if (n <= 0) {
            BIO_copy_next_retry(bio);
            release(ahead);
            return n;
        }
        ahead->start = 0;
        ahead->end = (size_t)n;
    }
    size_t take = ahead->end - ahead->start;
    if (take > (size_t)length) take = (size_t)length;
    memcpy(data, ahead->buffer + ahead->start, take);
    ahead->start += take;
    if (ahead->start == ahead->end) release(ahead);
    return (int)take;
}

static long ahead_ctrl(BIO *bio, int cmd, long num, void *ptr) {
    vr_ahead *ahead = BIO_get_data(bio);
    BIO *next = BIO_next(bio);
    switch (cmd) {
    case BIO_CTRL_PENDING:
        return (long)(ahead->end - ahead->start) + (next ? BIO_ctrl(next, cmd, num, ptr) : 0);
    case BIO_CTRL_EOF:
        if (ahead->end > ahead->start) return 0;
        return next ? BIO_ctrl(next, cmd, num, ptr) : 1;
    default:
        return next ? BIO_ctrl(next, cmd, num, ptr) : 0;
    }
}

static int ahead_create(BIO *bio) {
    vr_ahead *ahead = calloc(1, sizeof(vr_ahead));
    if (!ahead) return 0;
    BIO_set_data(bio, ahead);
    BIO_set_init(bio, 1);
    return 1;
}

static int ahead_destroy(BIO *bio) {
    vr_ahead *ahead = BIO_get_data(bio);
    if (ahead) {
        free(ahead->buffer);
        free(ahead);
    }
    BIO_set_data(bio, NULL);
    return 1;
}

static void make_method(void) {
    int type = BIO_get_new_index();
    BIO_METHOD *created = type == -1 ? NULL : BIO_meth_new(type | BIO_TYPE_FILTER, "vigrelay read-ahead");
    if (!created) return;
    BIO_meth_set_read(created, ahead_read);
    BIO_meth_set_ctrl(created, ahead_ctrl);
    BIO_meth_set_create(created, ahead_create);
    BIO_meth_set_destroy(created, ahead_destroy);
    ahead_type = type | BIO_TYPE_FILTER;
    ahead_method = created;
}

/// The read-ahead BIO of `ssl`, or NULL when it is not installed.
static BIO *ahead_bio(SSL *ssl) {
    BIO *bio = ssl ? SSL_get_rbio(ssl) : NULL;
    return bio && ahead_method && BIO_method_type(bio) == ahead_type ? bio : NULL;
}

int vr_read_ahead_install(SSL *ssl, size_t capacity) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_method);
    if (!ssl || !ahead_method || capacity == 0) return 0;
    if (ahead_bio(ssl)) return 1;
    BIO *socket = SSL_get_rbio(ssl);
    if (!socket) return 0;
    BIO *bio = BIO_new(ahead_method);
    if (!bio) return 0;
    ((vr_ahead *)BIO_get_data(bio))->capacity = capacity;
    // The socket BIO stays the write BIO's end too: one reference more for our chain, which
    // SSL_set0_rbio hands back by freeing the read BIO it replaces (SSL_free then frees ours).
    BIO_up_ref(socket);
    BIO_push(bio, socket);
    SSL_set0_rbio(ssl, bio);
    return 1;
}

size_t vr_read_ahead_pending(SSL *ssl) {
    BIO *bio = ahead_bio(ssl);
    if (!bio) return 0;
    vr_ahead *ahead = BIO_get_data(bio);
    return ahead->end - ahead->start;
}
