/// An error one pair of `load` met: a stable code, whose code it is, and what happened.
///
/// Relay codes are the `code` of the relay's `error` messages and refusals (docs/PROTOCOL.md), plus
/// `recording_failed` for a recording that ended in state `failed`. Client codes are the tester's
/// own (`ClientCode`). The first failure of a pair fails it; the report counts every one. Pure value.
public struct LoadFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Who named the code.
    public enum Source: String, Sendable, Equatable {
        case relay, client
    }

    /// What the tester itself saw go wrong.
    public enum ClientCode: String, Sendable, CaseIterable {
        /// `POST /v1/sessions` answered with something other than 201 and no relay error code.
        case createFailed = "create_failed"
        /// No TCP connection (refused, unreachable, timed out) or no WebSocket upgrade.
        case connectFailed = "connect_failed"
        /// The TLS handshake failed or the certificate was not trusted.
        case tlsFailed = "tls_failed"
        /// A step had no answer in time: session creation, welcome, consent, record start or stop.
        case timeout = "timeout"
        /// The connection dropped without a close frame (the relay died or the network broke).
        case connectionLost = "connection_lost"
        /// The relay closed the connection with a close frame before the pair was done.
        case closedByRelay = "closed_by_relay"
        /// A stream sent frames, and none arrived (or none could be queued) for the stall time (10 s).
        case stalled = "stalled"
        /// The run's hard deadline (ramp + duration + 60 s) passed before the pair finished.
        case deadline = "deadline"
        /// With `--record`: the relay reported the recording stopped with other totals than the camera
        /// sent (recording starts before the camera, so it must hold every frame and byte).
        case recordingIncomplete = "recording_incomplete"
    }

    public var source: Source
    public var code: String
    public var message: String

    public init(source: Source, code: String, message: String) {
        self.source = source
        self.code = code
        self.message = message
    }

    static func client(_ code: ClientCode, _ message: String) -> LoadFailure {
        LoadFailure(source: .client, code: code.rawValue, message: message)
    }

    static func relay(_ code: String, _ message: String) -> LoadFailure {
        LoadFailure(source: .relay, code: code, message: message)
    }

    /// Why a connection ended before the pair was done: the relay's error if it refused or closed it
    /// with one first, otherwise how it ended.
    static func connectionEnded(_ name: String, _ ending: ConnectionEnding, relayError: RelayError?) -> LoadFailure {
        switch ending {
        case .failed(let error):
            if let relayError { return .relay(relayError.code, error.description) }
            return connectFailed(error)
        case .closed(let code, let reason):
            if let relayError {
                return .relay(relayError.code, "the relay closed the \(name) connection after error \(relayError.code): \(relayError.message)")
            }
            let said = reason.isEmpty ? "" : " (\(reason))"
            guard let code else { return .client(.connectionLost, "the \(name) connection dropped without a close frame") }
            return .client(.closedByRelay, "the relay closed the \(name) connection with code \(code)\(said)")
        }
    }

    /// A connection that never opened, or a request that never got an answer.
    static func connectFailed(_ error: ClientError) -> LoadFailure {
        switch error {
        case .tokenRefused(let code, _): return .relay(code, error.description)
        case .untrustedCertificate, .tls, .caFileUnreadable: return .client(.tlsFailed, error.description)
        default: return .client(.connectFailed, error.description)
        }
    }

    public var description: String { "\(source.rawValue) \(code): \(message)" }
}
