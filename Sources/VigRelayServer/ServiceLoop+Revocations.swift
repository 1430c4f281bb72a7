import Logging
import VigRelayCore

/// Token revocations on the service thread: the reader looks at the file each tick, and a change
/// comes back as `revocationsChanged`.
extension ServiceLoop {
    /// Asks the reader thread whether the revocation file changed (one `stat` a second).
    func watchRevocations() {
        let watch = revocationWatch, inbox = self.inbox
        reader.submit {
            if let revocations = watch.changed() { inbox.post(.revocationsChanged(revocations)) }
        }
    }

    /// Puts the new revocations in force: later hellos and requests are checked against them, and
    /// practitioner connections that joined with a token they cover are told and closed, and the
    /// downloads asked for with one are cut off.
    /// The log names what changed (kind:id, staff and scraper ids only, never a token).
    func applyRevocations(_ revocations: TokenRevocations) {
        let before = core.tokenRevocations.entries
        let actions = core.revocationsChanged(revocations)
        let closed = RelayAction.closes(in: actions)
        func names(_ entries: [TokenRevocations.Entry]) -> String {
            entries.prefix(20).map { "\($0.kind.rawValue):\($0.id)" }.joined(separator: ",") + (entries.count > 20 ? ",..." : "")
        }
        var metadata: Logger.Metadata = ["entries": "\(revocations.entries.count)", "connections.closed": "\(closed)"]
        let revoked = revocations.entries.filter { !before.contains($0) }
        let lifted = before.filter { old in !revocations.entries.contains { $0.kind == old.kind && $0.id == old.id } }
        if !revoked.isEmpty { metadata["revoked"] = "\(names(revoked))" }
        if !lifted.isEmpty { metadata["lifted"] = "\(names(lifted))" }
        logger.notice("token revocations changed", metadata: metadata)
        perform(actions)
        cutOffDownloads(revokedBy: revocations)
    }
}
