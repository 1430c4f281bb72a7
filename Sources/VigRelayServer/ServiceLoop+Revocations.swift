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
    /// practitioner connections that joined with a token they cover are told and closed.
    func applyRevocations(_ revocations: TokenRevocations) {
        let actions = core.revocationsChanged(revocations)
        let closed = actions.filter { if case .close = $0 { return true } else { return false } }.count
        logger.notice("token revocations changed", metadata: ["entries": "\(revocations.entries.count)", "connections.closed": "\(closed)"])
        perform(actions)
    }
}
