// A write BIO between OpenSSL and the socket that sends a WebSocket frame's TLS records together.
//
// OpenSSL writes each TLS record (at most 16 KiB of plaintext) with a write(2) of its own, so a
// 64 KiB frame went to the socket as five writes, the last one a 26-byte record, and each write is
// a TCP segment through the whole stack. Gathering the records of one frame and writing them at once
// makes one segment of them: in bench scenario 1 the socket writes were a quarter of the relay's CPU,
// most of it per write, not per byte.
//
// The gathered bytes live in one buffer per thread (batches are synchronous on the thread that owns
// the connection); only what the socket does not take is copied into the connection's own buffer,
// and that is sent before any later write, so the byte stream keeps its order.
#include "tls_batch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>

typedef struct vr_batch {
    int gathering;
    unsigned char *left;  /// What a batch's write did not send: `left[sent..<count]`.
    size_t sent, count;
} vr_batch;

/// The current thread's gathering buffer.
static _Thread_local unsigned char *gathered;
static _Thread_local size_t gatheredCount, gatheredCapacity;

static BIO_METHOD *batch_method;
static int batch_type;

/// Writes `data[*sent..<count]` to `next`, moving `*sent` on: 1 when all of it went, 0 when the
/// socket is full, -1 on failure.
static int write_out(BIO *next, const unsigned char *data, size_t count, size_t *sent) {
    while (*sent < count) {
        size_t remaining = count - *sent;
        int n = BIO_write(next, data + *sent, remaining > INT32_MAX ? INT32_MAX : (int)remaining);
        if (n <= 0) return BIO_should_retry(next) ? 0 : -1;
        *sent += (size_t)n;
    }
    return 1;
}

/// Writes `left` to the next BIO: 1 when all of it went, 0 when the socket is full, -1 on failure.
static int send_left(BIO *bio, vr_batch *batch) {
    int done = write_out(BIO_next(bio), batch->left, batch->count, &batch->sent);
    if (done != 1) return done;
    free(batch->left);
    batch->left = NULL;
    batch->sent = batch->count = 0;
    return 1;
}

static int batch_write(BIO *bio, const char *data, int length) {
    vr_batch *batch = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (length <= 0) return 0;
    if (batch->gathering) {
        size_t need = gatheredCount + (size_t)length;
        if (need > gatheredCapacity) {
            size_t capacity = gatheredCapacity ? gatheredCapacity : 64 << 10;
            while (capacity < need) capacity *= 2;
            unsigned char *grown = realloc(gathered, capacity);
            if (!grown) return -1;
            gathered = grown;
            gatheredCapacity = capacity;
        }
        memcpy(gathered + gatheredCount, data, (size_t)length);
        gatheredCount += (size_t)length;
        return length;
    }
    int left = send_left(bio, batch);
    if (left <= 0) {
        if (left == 0) BIO_set_retry_write(bio);
        return -1;
    }
    BIO *next = BIO_next(bio);
    int n = BIO_write(next, data, length);
    BIO_copy_next_retry(bio);
    return n;
}

static int batch_read(BIO *bio, char *data, int length) {
    BIO *next = BIO_next(bio);
    BIO_clear_retry_flags(bio);
    int n = BIO_read(next, data, length);
    BIO_copy_next_retry(bio);
    return n;
}

static long batch_ctrl(BIO *bio, int cmd, long num, void *ptr) {
    vr_batch *batch = BIO_get_data(bio);
    BIO *next = BIO_next(bio);
    switch (cmd) {
    case BIO_CTRL_WPENDING:
        return (long)(batch->count - batch->sent) + (next ? BIO_ctrl(next, cmd, num, ptr) : 0);
    case BIO_CTRL_FLUSH: {
        BIO_clear_retry_flags(bio);
        int left = send_left(bio, batch);
        if (left <= 0) {
            if (left == 0) BIO_set_retry_write(bio);
            return left == 0 ? -1 : 0;
        }
        return next ? BIO_ctrl(next, cmd, num, ptr) : 1;
    }
    default:
        return next ? BIO_ctrl(next, cmd, num, ptr) : 0;
    }
}

static int batch_create(BIO *bio) {
    vr_batch *batch = calloc(1, sizeof(vr_batch));
    if (!batch) return 0;
    BIO_set_data(bio, batch);
    BIO_set_init(bio, 1);
    return 1;
}

static int batch_destroy(BIO *bio) {
    vr_batch *batch = BIO_get_data(bio);
    if (batch) {
        free(batch->left);
        free(batch);
    }
    BIO_set_data(bio, NULL);
    return 1;
}

static void make_method(void) {
    int type = BIO_get_new_index();
    BIO_METHOD *created = type == -1 ? NULL : BIO_meth_new(type | BIO_TYPE_FILTER, "vigrelay frame batch");
    if (!created) return;
    BIO_meth_set_write(created, batch_write);
    BIO_meth_set_read(created, batch_read);
    BIO_meth_set_ctrl(created, batch_ctrl);
    BIO_meth_set_create(created, batch_create);
    BIO_meth_set_destroy(created, batch_destroy);
    batch_type = type | BIO_TYPE_FILTER;
    batch_method = created;
}

/// The batching BIO of `ssl`, or NULL when it is not installed.
static BIO *batch_bio(SSL *ssl) {
    BIO *bio = ssl ? SSL_get_wbio(ssl) : NULL;
    return bio && batch_method && BIO_method_type(bio) == batch_type ? bio : NULL;
}

int vr_batch_install(SSL *ssl) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_method);
    if (!ssl || !batch_method) return 0;
    if (batch_bio(ssl)) return 1;
    BIO *socket = SSL_get_wbio(ssl);
    if (!socket) return 0;
    BIO *bio = BIO_new(batch_method);
    if (!bio) return 0;
    // The socket BIO stays the read BIO too: one reference more for our chain, which SSL_set0_wbio
    // hands back by freeing the write BIO it replaces (SSL_free then frees ours, and the socket's).
    BIO_up_ref(socket);
    BIO_push(bio, socket);
    SSL_set0_wbio(ssl, bio);
    return 1;
}

void vr_batch_begin(SSL *ssl) {
    BIO *bio = batch_bio(ssl);
    if (!bio) return;
    vr_batch *batch = BIO_get_data(bio);
    batch->gathering = 1;
    gatheredCount = 0;
}

int vr_batch_end(SSL *ssl) {
    BIO *bio = batch_bio(ssl);
    if (!bio) return 1;
    vr_batch *batch = BIO_get_data(bio);
    if (!batch->gathering) return send_left(bio, batch);
    batch->gathering = 0;
    size_t sent = 0;
    if (batch->sent == batch->count && write_out(BIO_next(bio), gathered, gatheredCount, &sent) < 0) return -1;
    if (sent < gatheredCount) {
        // Kept behind whatever an earlier batch left (begin is not meant to be called then, but the
        // order of the bytes must hold whatever the caller does).
        size_t keep = gatheredCount - sent, waiting = batch->count - batch->sent;
        unsigned char *left = malloc(waiting + keep);
        if (!left) return -1;
        if (waiting) memcpy(left, batch->left + batch->sent, waiting);
        memcpy(left + waiting, gathered + sent, keep);
        free(batch->left);
        batch->left = left;
        batch->sent = 0;
        batch->count = waiting + keep;
    }
    gatheredCount = 0;
    return batch->sent == batch->count ? 1 : 0;
}

int vr_batch_send(SSL *ssl, unsigned char *scratch, int headLength, const unsigned char *body, int bodyLength) {
    BIO *bio = batch_bio(ssl);
    if (!bio || headLength < 0 || bodyLength < 0) return -1;
    vr_batch_begin(ssl);
    // TLS's largest record (SSL3_RT_MAX_PLAIN_LENGTH): the head and the body's first bytes fill it.
    int first = 16384 - headLength;
    if (first > bodyLength) first = bodyLength;
    if (first < 0) first = 0;
    memcpy(scratch + headLength, body, (size_t)first);
    int ok = SSL_write(ssl, scratch, headLength + first) == headLength + first;
    if (ok && bodyLength > first) ok = SSL_write(ssl, body + first, bodyLength - first) == bodyLength - first;
    if (!ok) {  // the connection is broken (its caller hangs up): nothing of the frame is sent
        ((vr_batch *)BIO_get_data(bio))->gathering = 0;
        gatheredCount = 0;
        return -1;
    }
    return vr_batch_end(ssl);
}

int vr_batch_flush(SSL *ssl) {
    BIO *bio = batch_bio(ssl);
    return bio ? send_left(bio, BIO_get_data(bio)) : 1;
}

size_t vr_batch_pending(SSL *ssl) {
    BIO *bio = batch_bio(ssl);
    if (!bio) return 0;
    vr_batch *batch = BIO_get_data(bio);
    return batch->count - batch->sent;
}
