/// A download link slower than the stream, emulated by a load-test viewer that takes what the relay
/// sends no faster than `bytesPerSecond` (`load --slow-viewers`): each message occupies the link for
/// its size over the rate, and the viewer reads nothing more until the link is free again. While it
/// does not read, the kernel's receive buffer fills and the relay's queue for it grows, as behind a
/// real slow link. A link does not bank what it did not carry while idle, so there are no bursts.
/// What the link holds on the way is the viewer's receive buffer, which the kernel would otherwise
/// grow to seconds of such a link; it is kept to `queueBytes`, about half a second (as the browser
/// tests' slow-download forwarder holds), so the backlog waits at the relay, where `catch_up` reaches it.
///
/// Pure value; owned by the viewer's side (`LoadPairSide`), on its lws thread.
struct SlowLink: Sendable, Equatable {
    let bytesPerSecond: Double
    /// When the link is free again (monotonic ns).
    private(set) var freeAt: UInt64 = 0

    init(bitsPerSecond: Double) { bytesPerSecond = bitsPerSecond / 8 }

    /// How much the link holds on the way: half a second of it, at least 16 KiB.
    var queueBytes: Int { max(16 << 10, Int(bytesPerSecond / 2)) }

    /// A message of `bytes` was taken at `now`. Returns when the link is free again if that is later
    /// than `now` (the viewer pauses reading until then), nil when it may read on.
    mutating func took(_ bytes: Int, at now: UInt64) -> UInt64? {
        freeAt = max(freeAt, now) + UInt64(Double(bytes) / bytesPerSecond * 1e9)
        return freeAt > now ? freeAt : nil
    }
}
