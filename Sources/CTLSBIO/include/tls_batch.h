// A write BIO that turns the TLS records of one WebSocket frame into one send.
#ifndef VIGRELAY_TLS_BATCH_H
#define VIGRELAY_TLS_BATCH_H

#include <stddef.h>
#include <openssl/ssl.h>

/// Puts the batching BIO between `ssl` and its write BIO (the socket). Until a batch begins it passes
/// every write straight through, so lws's own writes (the close handshake, pings) go out as before.
/// 1 when installed (or already there), 0 when out of memory (writes then go as before).
int vr_batch_install(SSL *ssl);

/// From here on the records OpenSSL writes for `ssl` are gathered (in a buffer of the calling
/// thread) instead of sent one `write` each. At most one batch per thread is open at a time.
void vr_batch_begin(SSL *ssl);

/// Ends the batch: sends what was gathered in one `write`. What the socket does not take now is kept
/// and sent before anything else: by `vr_batch_flush`, or by the next write through the BIO.
/// 1 when everything went, 0 when some is kept (ask for POLLOUT, then flush), -1 when the socket failed.
int vr_batch_end(SSL *ssl);

/// Writes `head` (already in `scratch`, `headLength` bytes) followed by `body` as one batch, and
/// ends it (the result is `vr_batch_end`'s, or -1 when the BIO is not installed or a write failed).
/// The body's first bytes are copied behind the head in `scratch`, which has room for one TLS
/// record (16 KiB) more than the head, so that the head rides in the first record; the rest is
/// encrypted straight from `body`. (A head written alone would be a TLS record of its own.)
int vr_batch_send(SSL *ssl, unsigned char *scratch, int headLength, const unsigned char *body, int bodyLength);

/// Sends what an earlier batch left: 1 when nothing is left, 0 when some still is, -1 on failure.
int vr_batch_flush(SSL *ssl);

/// Bytes an earlier batch left to send (0 when the BIO is not installed).
size_t vr_batch_pending(SSL *ssl);

#endif
