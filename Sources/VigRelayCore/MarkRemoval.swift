/// What became of the practitioner's `unmark`, as the disk writer reports it to `RelayCore.markRemoved`.
public enum MarkRemoval: Equatable, Sendable {
    /// Logged as `mark_removed`, and its note erased.
    case removed
    /// The recording has no such mark (never made, removed already, or the recording was deleted).
    case notFound
    /// A disk error: nothing was logged, or the note could not be erased; removing again retries.
    case failed
}
