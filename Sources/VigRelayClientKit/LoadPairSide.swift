import VigRelayCore

/// One side's session observer for a `LoadPair`: the pair owns the connection, the connection owns
/// this observer, and this observer reaches the pair weakly. A practitioner of `load --slow-viewers`
/// (a family of `--slow-families`) takes the camera (the screen) no faster than its `SlowLink` and
/// asks to catch up as the pages do (`CatchUpWatch`).
///
/// Thread: called on the lws thread of the side's connection, which alone uses `slowLink` and `catchUp`.
final class LoadPairSide: SessionObserver, @unchecked Sendable {
    private weak var pair: LoadPair?
    private let role: Role
    private var slowLink: SlowLink?
    private var catchUp = CatchUpWatch()

    /// `slowLinkBitsPerSecond`: this side reads as if over a download that slow (nil: at full speed).
    init(pair: LoadPair, role: Role, slowLinkBitsPerSecond: Double? = nil) {
        self.pair = pair
        self.role = role
        slowLink = slowLinkBitsPerSecond.map(SlowLink.init(bitsPerSecond:))
    }

    var readyToReceive: Bool { true }

    func sessionOpened(_ session: SessionConnection) {
        let now = MonotonicClock.nanoseconds()
        // Refused (it is not, for an open socket), the kernel's own buffer stays: a deeper queue on the link.
        if let slowLink { _ = session.limitReceiveBuffer(bytes: slowLink.queueBytes) }
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
            if slowLink != nil { catchUp.skipped(frames: frames, at: now) }
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
        let now = MonotonicClock.nanoseconds()
        if stream.receive(frame, message: message, now: now) { pair.pokeDriver() }
        guard slowLink != nil else { return }
        if catchUp.frame(mediaTimeMicros: frame.mediaTimeMicros, initSegment: frame.flags.contains(.initSegment), at: now),
           session.sendControlNow(["type": "catch_up"]) {
            stream.askedToCatchUp()
        }
        if let free = slowLink?.took(message.count, at: now) { session.pauseReceiving(until: free) }
    }

    func session(_ session: SessionConnection, ended: SessionEnd) {
        guard let pair else { return }
        let failure: LoadFailure? = ended == .normal ? nil
            : LoadFailure.connectionEnded(role.rawValue, session.connectionEnding ?? .closed(code: nil, reason: ""), relayError: session.relayError)
        pair.note { $0.ended[self.role] = .some(failure) }
        pair.pokeDriver()
    }
}
