/// Where recovery cuts one part of an interrupted recording, decided from its index and file size.
///
/// With `C` records that fit in the file: at the last cluster's start (that cluster may be
/// incomplete). Without: at the end of the last `F` record that fits. Kept are the `F` records that
/// end by the cut, the `C` records that start before it, and the part's `G` record. Pure value.
struct PartCut {
    /// The part's number.
    let part: Int
    /// The part's new length.
    let end: Int64
    /// Where the part's first kept-or-cut cluster starts: its init segment ends there.
    let firstClusterOffset: Int64?
    /// The totals of what is kept; the cut cluster's time ends the duration (its media is what
    /// the kept clusters span up to).
    let tally: RecordingPartTally

    init(index: RecordingIndex, part: Int, fileSize: Int64) {
        self.part = part
        let clusters = index.clusters(part: part).filter { $0.offset <= fileSize }
        let frames = index.frames(part: part)
        let end: Int64
        if let last = clusters.last {
            end = last.offset
        } else {
            end = frames.filter { $0.end <= fileSize }.map(\.end).max() ?? 0
        }
        var tally = RecordingPartTally()
        for frame in frames where frame.end <= end { tally.add(frame) }
        for cluster in clusters { tally.addClusterTime(cluster.timeMs) }
        // The file may hold bytes past the last whole frame before the cut: they count as bytes.
        tally.bytes = end
        self.end = end
        self.tally = tally
        self.firstClusterOffset = clusters.first?.offset
    }

    /// Whether recovery keeps this record of the index.
    func keeps(_ record: RecordingIndex.Record) -> Bool {
        switch record {
        case .frame(let f): f.part == part && f.end <= end
        case .cluster(let c): c.part == part && c.offset < end
        case .gap(let p, _): p == part
        }
    }
}
