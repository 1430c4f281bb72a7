import VigRelayCore

/// One side's session observer for a `LoadPair`: the pair owns the connection, the connection owns
/// this observer, and this observer reaches the pair weakly.
///
/// Thread: called on the lws thread of the side's connection.
final class LoadPairSide: SessionObserver, @unchecked Sendable {
    private weak var pair: LoadPair?
    private let role: Role

    init(pair: LoadPair, role: Role) {
        self.pair = pair
        self.role = role
    }

    var readyToReceive: Bool { true }

    func sessionOpened(_ session: SessionConnection) {
        let now = MonotonicClock.nanoseconds()
        pair?.note { $0.opened[self.role] = now }
    }

    func session(_ session: SessionConnection, notice: SessionNotice) {
        guard let pair else { return }
        let now = MonotonicClock.nanoseconds()
        switch notice {
        case .welcome:
            pair.note { $0.welcomed[self.role] = now }
        case .error(let code, let message):
            pair.note { $0.relayErrors.append(.relay(code, "\(self.role.rawValue): \(message)")) }
        case .skipped(let frames, let stream):
            if let kind = MediaStream(rawValue: UInt8(clamping: stream)) { pair.receivedStream(kind, at: role)?.relaySkipped(frames) }
            return
        default:
            switch (RecordingEvent(notice), role) {
            case (.consent(recording: true)?, .family): pair.note { $0.consentConfirmed = true }
            case (.started(let id)?, .practitioner): pair.note { $0.recordingStarted = id }
            case (.stopped(let summary)?, .practitioner): pair.note { $0.recordingStopped = summary }
            case (.failed?, .practitioner): pair.note { $0.recordingFailed = true }
            default: return
            }
        }
        pair.pokeDriver()
    }

    func session(_ session: SessionConnection, frame: MediaFrameHeader, message: [UInt8]) {
        guard let pair, let kind = frame.streamKind, let stream = pair.receivedStream(kind, at: role) else { return }
        if stream.receive(frame, message: message, now: MonotonicClock.nanoseconds()) { pair.pokeDriver() }
    }

    func session(_ session: SessionConnection, ended: SessionEnd) {
        guard let pair else { return }
        let failure: LoadFailure? = ended == .normal ? nil
            : LoadFailure.connectionEnded(role.rawValue, session.connectionEnding ?? .closed(code: nil, reason: ""), relayError: session.relayError)
        pair.note { $0.ended[self.role] = .some(failure) }
        pair.pokeDriver()
    }
}
