import CCrypto

/// The end of a thread that may have used OpenSSL (through lws's TLS, the recordings' ciphers or a
/// certificate check).
public enum OpenSSLThread {
    /// Frees the calling thread's OpenSSL state now. Call it last on such a thread, before telling
    /// anyone that the thread is done. Otherwise the thread frees that state as it exits, while the
    /// main thread, told that it is done, may already be in `exit`, where OpenSSL's own clean-up
    /// frees it too: a double free that aborted the relay at SIGTERM (seen once in CI, after a
    /// certificate check on the reader thread had left an error queued there).
    public static func stop() { vr_openssl_thread_stop() }
}
