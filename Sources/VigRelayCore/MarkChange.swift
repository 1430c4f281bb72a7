/// What became of the practitioner's `unmark` or `note` (a mark removed, or its note changed), as the
/// disk writer reports it to `RelayCore.markChanged`.
public enum MarkChange: Equatable, Sendable {
    /// Done: the mark removed (`mark_removed`, its note erased), or its note changed (`mark_noted`).
    case done
    /// The recording has no such mark (never made, removed already, or the recording was deleted).
    case notFound
    /// A disk error: nothing changed, or not all of it; asking again retries.
    case failed
}
