/// What became of the practitioner's `mark`, `unmark` or `note` (a mark made, removed, or its note
/// changed), as the disk writer reports it to `RelayCore.markChanged`.
public enum MarkChange: Equatable, Sendable {
    /// Done: the mark saved (`mark`, its note beside the recording), removed (`mark_removed`, its
    /// note erased), or its note changed (`mark_noted`).
    case done
    /// The recording has no such mark (never made, removed already), or, for a new mark, the
    /// recording was deleted before the writer got to it.
    case notFound
    /// A disk error: nothing changed, or not all of it; asking again retries.
    case failed
}

/// Which of the practitioner's messages a `MarkChange` answers.
public enum MarkEdit: Equatable, Sendable {
    case made, removed, renoted
}
