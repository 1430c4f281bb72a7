// A read BIO that takes what the socket holds in one read and hands it to OpenSSL record by record.
#ifndef VIGRELAY_TLS_READ_AHEAD_H
#define VIGRELAY_TLS_READ_AHEAD_H

#include <stddef.h>
#include <openssl/ssl.h>

/// Puts the read-ahead BIO between `ssl` and its read BIO (the socket). When OpenSSL asks for bytes
/// and the BIO holds none, one `read` takes up to `capacity` bytes from the socket; OpenSSL's asks
/// (a record's 5-byte header, then its body) are then answered from them. A connection holds the
/// buffer only while it holds bytes (the thread keeps one spare for the next). Use it with OpenSSL's
/// own read-ahead off (the default).
/// 1 when installed (or already there), 0 when out of memory (reads then go as before).
int vr_read_ahead_install(SSL *ssl, size_t capacity);

/// Bytes the read-ahead BIO holds, read from the socket and not yet asked for by OpenSSL (0 when it
/// is not installed). The socket's readiness does not show them: a reader that stops with some
/// here must come back for them itself.
size_t vr_read_ahead_pending(SSL *ssl);

#endif
