/// The range of media times the relay places on a recording's timeline.
///
/// Media times come from the family's stream (WebM cluster and block timestamps, MP4 fragment
/// decode times, the frame header's microseconds), so they can be anything a sender writes. Kept
/// within ±`limitMs`, sums and differences of them (a block against the recording's first cluster,
/// a part's start plus its duration, over at most `RecordingManifest.maxParts` parts) stay far
/// inside Int64, where Swift's checked arithmetic would otherwise end the process.
public enum MediaTime {
    /// 2^42 ms, about 139 years: past any real recording's times.
    public static let limitMs: Int64 = 1 << 42
}
