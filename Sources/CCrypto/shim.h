// The few OpenSSL libcrypto calls vigrelay needs: HMAC-SHA256 for tokens, AES-256 for recordings
// encrypted at rest (CTR for the media, GCM to wrap each recording's key), and random bytes.
#ifndef VIGRELAY_CRYPTO_SHIM_H
#define VIGRELAY_CRYPTO_SHIM_H
#include <openssl/hmac.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

/// HMAC-SHA256 of data under key into out (32 bytes). Returns 1 on success.
static inline int vr_hmac_sha256(const void *key, int keylen, const unsigned char *data, size_t len,
                                 unsigned char *out) {
    unsigned int outlen = 32;
    return HMAC(EVP_sha256(), key, keylen, data, len, out, &outlen) != NULL;
}

/// Frees the calling thread's OpenSSL state (its error queue, its DRBG) now, not when the thread exits.
static inline void vr_openssl_thread_stop(void) {
    OPENSSL_thread_stop();
}

/// n cryptographically strong random bytes into out. Returns 1 on success.
static inline int vr_random_bytes(unsigned char *out, int n) {
    return RAND_bytes(out, n) == 1;
}

/// AES-256-CTR from any byte offset of a stream: out = in XOR the keystream at bytes
/// [offset, offset + len) of the stream whose first counter block is iv (16 bytes, counted up as
/// one 128-bit big-endian number, as OpenSSL's CTR mode does). in may equal out. Returns 1 on success.
static inline int vr_aes256_ctr(const unsigned char *key, const unsigned char *iv, uint64_t offset,
                                const unsigned char *in, unsigned char *out, size_t len) {
    unsigned char counter[16];
    memcpy(counter, iv, 16);
    uint64_t add = offset / 16;
    for (int i = 15; i >= 0 && add != 0; i--) {
        uint64_t sum = (uint64_t)counter[i] + (add & 0xff);
        counter[i] = (unsigned char)(sum & 0xff);
        add = (add >> 8) + (sum >> 8);
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, counter) == 1;
    int n = 0;
    unsigned int skip = (unsigned int)(offset % 16);
    if (ok && skip > 0) {
        unsigned char zeros[16] = {0}, discard[16];
        ok = EVP_EncryptUpdate(ctx, discard, &n, zeros, (int)skip) == 1;
    }
    size_t done = 0;
    while (ok && done < len) {
        size_t step = len - done > (1u << 30) ? (1u << 30) : len - done;
        ok = EVP_EncryptUpdate(ctx, out + done, &n, in + done, (int)step) == 1 && (size_t)n == step;
        done += step;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/// AES-256-GCM (12-byte nonce, 16-byte tag) over len bytes with aad: seal when encrypt is 1 (tag
/// written), open when 0 (tag checked). Returns 1 on success; 0 when opening finds the bytes, the
/// aad or the key are not the ones sealed.
static inline int vr_aes256_gcm(int encrypt, const unsigned char *key, const unsigned char *nonce,
                                const unsigned char *aad, size_t aadlen,
                                const unsigned char *in, size_t len, unsigned char *out, unsigned char *tag) {
    if (len > (1u << 30) || aadlen > (1u << 30)) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int n = 0;
    int ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, encrypt) == 1
        && (aadlen == 0 || EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1)
        && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1
        && (encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1)
        && EVP_CipherFinal_ex(ctx, out + n, &n) == 1
        && (!encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}
#endif
