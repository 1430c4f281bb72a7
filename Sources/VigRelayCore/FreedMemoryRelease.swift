/// When the relay gives the memory its queues freed back to the kernel (`malloc_trim`, done by the
/// server on its reader thread).
///
/// The relay keeps freed memory for reuse (`mallopt` at start, docs/ARCHITECTURE.md): at a steady
/// load the same pages hold the next frames, and handing them back cost a page fault and a zeroed
/// page each time. After a burst (viewers far behind, a disk that fell behind, a load past what the
/// relay carries) the queues drain, and what they held would stay with the process until it
/// restarts: 6.4 GB after 1,600 recorded pairs on a machine that could carry 800. So once a second
/// (and at each metrics scrape) the service thread says how many bytes its queues hold (`queued`):
/// once they have held at least `burstBytes` since the last release and now hold at most a quarter
/// of that peak, what is free goes back; the peak starts again from what is left, so a long drain
/// releases a few times (each time the queues have shrunk to a quarter: at most six from 64 GiB down
/// to nothing). A steady load keeps far less queued (a few frames per viewer), so it keeps its pages
/// and pays nothing.
///
/// Pure value; owned by the service thread.
public struct FreedMemoryRelease: Sendable, Equatable {
    /// The least peak that counts as a burst: well above what a steady load keeps queued (a few
    /// frames per viewer), well below what a burst leaves behind.
    public static let burstBytes = 64 << 20

    /// The most the queues held since the last release.
    public private(set) var peakBytes = 0

    public init() {}

    /// The queues hold `bytes` now. Returns true when the memory a burst left free should be given back now.
    public mutating func queued(_ bytes: Int) -> Bool {
        peakBytes = max(peakBytes, bytes)
        guard peakBytes >= Self.burstBytes, bytes <= peakBytes / 4 else { return false }
        peakBytes = bytes
        return true
    }
}
