import Foundation
import VigRelayCore

/// What `welcome` said.
struct Welcome: Sendable, Equatable {
    var role: String
    var peerPresent: Bool
}

/// How a session connection ended.
enum SessionEnd: Sendable, Equatable {
    /// Closed with 1000 (after `bye`, or by the relay).
    case normal
    case failed(ClientError)

    /// The error, if it failed.
    var error: ClientError? {
        if case .failed(let error) = self { return error }
        return nil
    }
}

/// What a participant's command hears from its session. Called on the lws thread.
protocol SessionObserver: AnyObject {
    /// The TLS and WebSocket handshakes completed; `hello` is queued.
    func sessionOpened(_ session: SessionConnection)
    func session(_ session: SessionConnection, notice: SessionNotice)
    func session(_ session: SessionConnection, frame: MediaFrameHeader, message: [UInt8])
    /// The connection ended (after `ended` was fulfilled).
    func session(_ session: SessionConnection, ended: SessionEnd)
    /// After `pauseReceiving`, whether reading may resume.
    var readyToReceive: Bool { get }
}

extension SessionObserver {
    func sessionOpened(_ session: SessionConnection) {}
}

/// One participant's connection to a session: sends `hello`, waits for `welcome`, turns the relay's
/// messages into notices and media frames, queues outgoing media, says `bye`.
///
/// Thread: callbacks run on the lws thread; `joined`, `ended` and the `send...` methods are
/// thread-safe (they go through latches and the connection's `TransmitQueue`).
final class SessionConnection: WebSocketClientHandler, @unchecked Sendable {
    /// The role this connection joins as.
    let role: Role
    /// The session joined.
    let sessionID: String
    /// Fulfilled with `welcome`, or with why the join failed.
    let joined = Latch<Result<Welcome, ClientError>>()
    /// Fulfilled when the connection ends.
    let ended = Latch<SessionEnd>()
    /// Fulfilled when the WebSocket handshake completed.
    private let opened = Latch<Bool>()

    private let token: String
    private let observer: any SessionObserver
    private let loop: ClientLoop
    // Set once in `start()`, before the loop or a sender thread can use it.
    private var connection: WebSocketClientConnection?
    // lws thread only.
    private var welcomed = false
    private var refusal: ClientError?
    /// The relay's error (code and message) when it refused this connection (before `welcome`, or
    /// `replaced`). lws thread; read it from `ended` callbacks.
    private(set) var relayError: RelayError?
    /// How the WebSocket ended. lws thread; set before the observer's `ended` callback.
    private(set) var connectionEnding: ConnectionEnding?

    /// Passed to the WebSocket (`WebSocketClientConnection.writeTimeOffset`): `load` stamps its frames.
    private let writeTimeOffset: Int?
    /// The optional messages asked for in the hello (docs/PROTOCOL.md, Joining), e.g. `family_link_refused`.
    private let notices: [String]

    init(loop: ClientLoop, role: Role, sessionID: String, token: String, observer: any SessionObserver,
         writeTimeOffset: Int? = nil, notices: [String] = []) {
        self.loop = loop
        self.writeTimeOffset = writeTimeOffset
        self.notices = notices
        self.role = role
        self.sessionID = sessionID
        self.token = token
        self.observer = observer
    }

    /// Starts connecting. Call once, from the command's thread.
    func start() {
        let connection = WebSocketClientConnection(loop: loop, path: "/v1/sessions/\(sessionID)/ws", handler: self, writeTimeOffset: writeTimeOffset)
        self.connection = connection
        loop.open(connection)
    }

    /// Waits for `welcome` (or a failure) until the deadline.
    func waitForWelcome(seconds: Double) throws(ClientError) -> Welcome {
        switch joined.wait(until: Date().addingTimeInterval(seconds)) {
        case .success(let welcome)?: return welcome
        case .failure(let error)?: throw error
        case nil where opened.current == nil:
            throw .unreachable(server: loop.endpoint.description, detail: "no TLS and WebSocket handshake within \(Int(seconds)) s")
        case nil:
            throw .protocolError("no welcome from the relay at \(loop.endpoint) within \(Int(seconds)) s; is it overloaded, or is --server another service?")
        }
    }

    /// Queues a binary message, waiting while the send queue is full; throws when the connection is
    /// gone or no room came free for `stallSeconds`. Any thread.
    func sendBinary(_ message: [UInt8], stallSeconds: Double = 30) throws(ClientError) {
        switch send(message, binary: true, waitUntil: Date().addingTimeInterval(stallSeconds)) {
        case .queued: return
        case .closed: throw ended.current.flatMap(\.error) ?? .protocolError("the \(role.rawValue) connection ended while sending")
        case .stalled: throw .protocolError("the \(role.rawValue) connection stalled: nothing could be sent for \(Int(stallSeconds)) s")
        }
    }

    /// Queues `{"type":"bye"}`; the relay then closes with 1000. Any thread.
    func sendBye() { _ = sendControl(["type": "bye"]) }

    /// Queues a control message (a JSON object); false when the connection is gone or stalled. Any thread.
    @discardableResult
    func sendControl(_ object: [String: Any]) -> Bool {
        if case .queued = send(ControlEncoder.encode(object), binary: false, waitUntil: Date().addingTimeInterval(5)) { return true }
        return false
    }

    /// Queues a message without waiting: with `overLimit` even when the send queue is full (small
    /// control messages), otherwise `.stalled` when it is full; written once the monotonic clock reads
    /// `notBefore` (0: as soon as it can). Any thread.
    func sendNow(_ bytes: [UInt8], binary: Bool, overLimit: Bool, notBefore: UInt64 = 0) -> TransmitQueue.PushOutcome {
        guard let connection else { return .closed }
        return loop.enqueue(bytes, binary: binary, overLimit: overLimit, notBefore: notBefore, on: connection.transmit, id: connection.id)
    }

    /// Queues a control message (a JSON object) without waiting; false when the connection is gone. Any thread.
    @discardableResult
    func sendControlNow(_ object: [String: Any]) -> Bool {
        if case .queued = sendNow(ControlEncoder.encode(object), binary: false, overLimit: true) { return true }
        return false
    }

    /// Closes the connection with `code` once what is queued has been written. Any thread.
    func closeSoon(code: UInt16, reason: String) { connection?.closeSoon(code: code, reason: reason) }

    /// Waits until the connection ends, or the deadline passes (nil).
    func waitForEnd(seconds: Double) -> SessionEnd? { ended.wait(until: Date().addingTimeInterval(seconds)) }

    /// Stops reading from the socket until the observer is `readyToReceive`. lws thread.
    func pauseReceiving() { connection?.pauseReceiving() }

    /// Caps the socket's receive buffer (`WebSocketClientConnection.limitReceiveBuffer`). lws thread, once open.
    func limitReceiveBuffer(bytes: Int) -> Bool { connection?.limitReceiveBuffer(bytes: bytes) ?? false }

    /// Stops reading from the socket until the monotonic clock reads `time` (ns). lws thread.
    func pauseReceiving(until time: UInt64) { connection?.pauseReceiving(until: time) }

    private func send(_ bytes: [UInt8], binary: Bool, waitUntil deadline: Date) -> TransmitQueue.PushOutcome {
        guard let connection else { return .closed }
        let outcome = connection.transmit.push(bytes, binary: binary, waitUntil: deadline)
        if outcome == .queued(wasEmpty: true) { loop.wake(connection.id) }
        return outcome
    }

    // MARK: WebSocketClientHandler (lws thread)

    var readyToReceive: Bool { observer.readyToReceive }

    func webSocketOpened(_ connection: WebSocketClientConnection) {
        opened.fulfil(true)
        var fields: [String: Any] = ["type": "hello", "token": token]
        if !notices.isEmpty { fields["notices"] = notices }
        let hello = ControlEncoder.encode(fields)
        _ = connection.transmit.push(hello, binary: false, waitUntil: nil)
        observer.sessionOpened(self)
    }

    func webSocket(_ connection: WebSocketClientConnection, received message: [UInt8], binary: Bool) {
        if binary {
            guard let header = try? MediaFrameHeader.parse(message) else {
                observer.session(self, notice: .other("binary message of \(message.count) bytes without a valid media header"))
                return
            }
            observer.session(self, frame: header, message: message)
            return
        }
        let notice = SessionNotice(text: message)
        switch notice {
        case .welcome(let role, _, let peerPresent):
            welcomed = true
            joined.fulfil(.success(Welcome(role: role, peerPresent: peerPresent)))
        // After welcome, `replaced`, `unauthorized` (the token revoked during the call) and
        // `invite_replaced` (the practitioner made a new family link) end the connection too.
        case .error(let code, let text) where !welcomed || ["replaced", "unauthorized", "invite_replaced"].contains(code):
            relayError = RelayError(code: code, message: text)
            if ["unauthorized", "forbidden", "invite_replaced"].contains(code) {
                refusal = .tokenRefused(code: code, message: text)
            } else if welcomed {
                refusal = .protocolError("a newer \(role.rawValue) connection to this session replaced this one (\(code)): \(text)")
            } else {
                refusal = .protocolError("the relay refused the \(role.rawValue) connection (\(code)): \(text)")
            }
            // A refusal before welcome becomes the command's one error line; do not report it twice.
            if !welcomed { return }
        default:
            break
        }
        observer.session(self, notice: notice)
    }

    func webSocket(_ connection: WebSocketClientConnection, ended ending: ConnectionEnding) {
        connectionEnding = ending
        let end: SessionEnd
        switch ending {
        case .failed(let error):
            end = .failed(error)
        case .closed(let code, let reason):
            if welcomed { observer.session(self, notice: .closed(code: code, reason: reason)) }
            if let refusal {
                end = .failed(refusal)
            } else if !welcomed {
                end = .failed(.protocolError("the relay closed the \(role.rawValue) connection before welcome (\(Self.describe(code, reason)))"))
            } else if code == RelayCloseCode.normal {
                end = .normal
            } else {
                end = .failed(.protocolError("the relay closed the \(role.rawValue) connection (\(Self.describe(code, reason)))"))
            }
        }
        if case .failed(let error) = end { joined.fulfil(.failure(error)) }
        ended.fulfil(end)
        observer.session(self, ended: end)
    }

    private static func describe(_ code: UInt16?, _ reason: String) -> String {
        let meaning: String
        switch code {
        case RelayCloseCode.goingAway?: meaning = "the relay is shutting down"
        case RelayCloseCode.replaced?: meaning = "another connection of the same role replaced this one"
        case RelayCloseCode.messageTooBig?: meaning = "a message was too large"
        case RelayCloseCode.policyViolation?: meaning = "policy violation"
        case RelayCloseCode.notFound?: meaning = "unknown session"
        case nil: meaning = "no close frame: the connection dropped"
        default: meaning = "close code"
        }
        return meaning + (code.map { ", code \($0)" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")
    }
}
