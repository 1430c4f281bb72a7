/// Copies of clips given to the family to keep (`RelayLimits.familyCopies`; docs/RECORDING.md,
/// "Copies for the family"). Lws thread, like the rest of `RelayCore`.
extension RelayCore {
    /// The writer saved that a clip was given to the family or taken back: the family's page, if
    /// in the call, hears that its list changed (`{"type":"family_copies"}`) and asks for it again.
    public func familyCopiesChanged(sessionID: String) -> [RelayAction] {
        guard let family = connection(of: sessionID, role: .family) else { return [] }
        return [.send(family, .text(ControlEncoder.encode(["type": "family_copies"])))]
    }
}
