// The few OpenSSL libcrypto calls the relay core needs: HMAC-SHA256 and constant-time compare.
#ifndef VIGRELAY_CRYPTO_SHIM_H
#define VIGRELAY_CRYPTO_SHIM_H
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/// HMAC-SHA256 of data under key into out (32 bytes). Returns 1 on success.
static inline int vr_hmac_sha256(const void *key, int keylen, const unsigned char *data, size_t len,
                                 unsigned char *out) {
    unsigned int outlen = 32;
    return HMAC(EVP_sha256(), key, keylen, data, len, out, &outlen) != NULL;
}
#endif
