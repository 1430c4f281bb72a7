import CTLSBIO

/// An `SSL` (never handshaking) whose socket is one end of a BIO pair with `room` bytes of buffer
/// each way: writing the other end (`peer`) is the peer sending, reading it is the peer taking what
/// was sent. The BIOs under test go between the SSL and its end (`near`).
final class PairedSocket {
    let context: OpaquePointer
    let ssl: OpaquePointer
    let near: OpaquePointer
    let peer: OpaquePointer

    init(room: Int = 1 << 20) {
        context = SSL_CTX_new(TLS_method())!
        ssl = SSL_new(context)!
        var near: OpaquePointer?
        var far: OpaquePointer?
        precondition(BIO_new_bio_pair(&near, room, &far, room) == 1)
        SSL_set_bio(ssl, near, near)  // the SSL owns this end
        self.near = near!
        peer = far!
    }

    deinit {
        SSL_free(ssl)
        BIO_free(peer)
        SSL_CTX_free(context)
    }

    /// Whether the last call on `bio` failed as a socket that would block does (try again), for
    /// `BIO_FLAGS_READ` or `BIO_FLAGS_WRITE`.
    static func wouldBlock(_ bio: OpaquePointer?, _ direction: Int32) -> Bool {
        BIO_test_flags(bio, BIO_FLAGS_SHOULD_RETRY) != 0 && BIO_test_flags(bio, direction) != 0
    }

    /// `count` bytes whose values depend on where they start, so a byte out of place shows.
    static func bytes(_ count: Int, from start: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 + start) &* 31 &+ 7) }
    }
}
