/// Copies of clips given to the family to keep (`RelayLimits.familyCopies`; docs/RECORDING.md,
/// "Copies for the family"). Lws thread, like the rest of `RelayCore`.
extension RelayCore {
    /// The writer saved that a clip was given to the family or taken back: the family's page, if
    /// in the call, hears that its list changed (`{"type":"family_copies"}`) and asks for it again.
    public func familyCopiesChanged(sessionID: String) -> [RelayAction] {
        guard let family = connection(of: sessionID, role: .family) else { return [] }
        return [.send(family, .text(ControlEncoder.encode(["type": "family_copies"])))]
    }

    /// The family started fetching a copy given to them (to watch or to save): the practitioner, if
    /// in the session, hears it (`{"type":"family_copy_fetched","clipId":...}`), so their page can say
    /// so during the review rather than at its next read of the summary.
    public func familyCopyFetched(sessionID: String, clipID: String) -> [RelayAction] {
        guard let practitioner = connection(of: sessionID, role: .practitioner) else { return [] }
        return [.send(practitioner, .text(ControlEncoder.encode(["type": "family_copy_fetched", "clipId": clipID])))]
    }
}
