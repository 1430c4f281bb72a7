/// A plan read back from a stored clip (`ClipRecord.plan`), so downloads reuse `sourceRanges` and
/// `patch` without planning again.
extension ClipPlan {
    /// A plan with these ranges, patches and times, as a `ClipPlan` made them earlier. The caller
    /// checks them against the file before reading (`ClipRecord.plan` checks their shape).
    public init(ranges: [Range<Int64>], patches: [Patch], actualFromMs: Int64, actualToMs: Int64) {
        self.ranges = ranges
        self.patches = patches.sorted { $0.offset < $1.offset }
        self.actualFromMs = actualFromMs
        self.actualToMs = actualToMs
    }
}
