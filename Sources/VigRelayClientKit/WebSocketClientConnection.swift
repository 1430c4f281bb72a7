import CLibWebSockets
import Foundation
import VigRelayCore

/// How a WebSocket connection ended.
enum ConnectionEnding: Sendable, Equatable {
    /// It never opened.
    case failed(ClientError)
    /// It opened, then closed; `code` is the close code the relay sent, if it sent one.
    case closed(code: UInt16?, reason: String)
}

/// What a WebSocket's owner hears. Called on the lws thread.
protocol WebSocketClientHandler: AnyObject {
    func webSocketOpened(_ connection: WebSocketClientConnection)
    func webSocket(_ connection: WebSocketClientConnection, received message: [UInt8], binary: Bool)
    func webSocket(_ connection: WebSocketClientConnection, ended: ConnectionEnding)
    /// Asked after the handler paused receiving, on each wake-up: may it resume?
    var readyToReceive: Bool { get }
}

/// One `wss://` client connection, offering subprotocol `vigrelay.v1` (or none, for other relays):
/// connects, reassembles received messages, writes queued messages in fragments of at most 256 KiB, closes.
///
/// Thread: see `LoopConnection` (lws thread after hand-over); `transmit` and `closeSoon` are thread-safe.
final class WebSocketClientConnection: LoopConnection, @unchecked Sendable {
    let id: UInt64
    /// Request path, `/v1/sessions/{id}/ws`.
    let path: String
    /// Messages to write; producers on any thread push, then wake the loop.
    let transmit: TransmitQueue
    private weak var handler: (any WebSocketClientHandler)?
    private weak var loop: ClientLoop?
    private var endpoint: ServerEndpoint
    private var trust: ClientTrust
    private let subprotocol: String?

    private var wsi: OpaquePointer?
    private var opened = false
    private var ended = false
    private var certificateRejected = false
    private var assembler = MessageAssembler(limitBytes: 64 << 20)
    private var receivePaused = false
    private var pendingClose: (code: UInt16, reason: String)?
    private var peerClose: (code: UInt16?, reason: String)?
    /// When the relay was last heard from (a message piece or a pong); set once open.
    private var keepalive: Keepalive?
    /// A ping to write at the next WRITEABLE.
    private var pingOwed = false
    /// Hung up because nothing came for the silence limit: how long it had been quiet.
    private var silentFor: UInt64?

    init(loop: ClientLoop, path: String, handler: any WebSocketClientHandler, transmitLimitBytes: Int = 4 << 20,
         subprotocol: String? = "vigrelay.v1") {
        self.id = loop.makeConnectionID()
        self.path = path
        self.subprotocol = subprotocol
        self.handler = handler
        self.loop = loop
        self.endpoint = loop.endpoint
        self.trust = loop.trust
        self.transmit = TransmitQueue(limitBytes: transmitLimitBytes)
    }

    func connect(context: OpaquePointer, loop: ClientLoop) {
        let started = startClientConnection(context: context, endpoint: endpoint, trust: trust, path: path, method: nil, id: id,
                                            subprotocol: subprotocol)
        if !started { finish(.failed(ConnectFailure.classify("Unable to connect", certificateRejected: certificateRejected, server: endpoint))) }
    }

    /// Closes after what is queued has been written. lws thread.
    func close(code: UInt16, reason: String) {
        guard pendingClose == nil, let wsi else { return }
        pendingClose = (code, reason)
        lws_callback_on_writable(wsi)
    }

    /// Closes with `code` after what is queued has been written. Any thread.
    func closeSoon(code: UInt16, reason: String) {
        transmit.requestClose(code: code, reason: reason)
        loop?.wake(id)
    }

    /// Stops reading until the handler is `readyToReceive` (checked on each wake-up). lws thread.
    func pauseReceiving() {
        guard !receivePaused, let wsi else { return }
        receivePaused = true
        lws_rx_flow_control(wsi, 0)
    }

    func wake() {
        guard let wsi, opened else { return }
        if receivePaused, handler?.readyToReceive ?? true {
            receivePaused = false
            lws_rx_flow_control(wsi, 1)
        }
        if !transmit.isEmpty || transmit.closeRequest != nil { lws_callback_on_writable(wsi) }
    }

    func abandon() { finish(.failed(.protocolError("the client stopped before the connection ended"))) }

    func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
            if len == 0 { certificateRejected = true }
            return 0
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let detail = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
            finish(.failed(ConnectFailure.classify(detail, certificateRejected: certificateRejected, server: endpoint)))
            return 0
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            self.wsi = wsi
            opened = true
            keepalive = Keepalive(policy: ClientKeepalive.policy, now: MonotonicClock.nanoseconds())
            handler?.webSocketOpened(self)
            if !transmit.isEmpty || transmit.closeRequest != nil { lws_callback_on_writable(wsi) }
            return 0
        case LWS_CALLBACK_CLIENT_RECEIVE:
            keepalive?.heard(at: MonotonicClock.nanoseconds())
            return receive(wsi, input, len)
        case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
            keepalive?.heard(at: MonotonicClock.nanoseconds())
            return 0
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return writeable(wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            peerClose = Self.readClose(input, len)
            return 0
        case LWS_CALLBACK_CLIENT_CLOSED, LWS_CALLBACK_WSI_DESTROY:
            let close = peerClose ?? (nil, silence() ?? "")
            finish(opened ? .closed(code: close.code, reason: close.reason)
                          : .failed(ConnectFailure.classify("connection closed during the handshake", certificateRejected: certificateRejected, server: endpoint)))
            return 0
        default:
            return 0
        }
    }

    /// Pings a quiet relay, hangs up on a silent one (see `ClientKeepalive`). lws thread.
    func tick(now: UInt64) {
        guard let wsi, silentFor == nil else { return }
        switch keepalive?.due(at: now) {
        case .ping?:
            pingOwed = true
            lws_callback_on_writable(wsi)
        case .hangUp?:
            silentFor = keepalive?.quiet(at: now)
            lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
        case nil:
            break
        }
    }

    /// Why a connection that ended with no close from the relay ended, when the keepalive gave up.
    private func silence() -> String? {
        guard let silentFor else { return nil }
        return "nothing came from the relay for \(silentFor / 1_000_000_000) s, not even an answer to a ping: the network went silent"
    }

    private func receive(_ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
        let piece = UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : len)
        let outcome = assembler.append(piece, first: lws_is_first_fragment(wsi) != 0,
                                       final: lws_is_final_fragment(wsi) != 0, binary: lws_frame_is_binary(wsi) != 0,
                                       frameRemaining: Int(lws_remaining_packet_payload(wsi)))
        switch outcome {
        case .partial:
            return 0
        case .message(let message, let binary):
            handler?.webSocket(self, received: message, binary: binary)
            return 0
        case .tooLarge:
            var reason = Array("message too large".utf8)
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, &reason, reason.count)
            return -1
        }
    }

    private func writeable(_ wsi: OpaquePointer) -> Int32 {
        guard let loop else { return -1 }
        if pingOwed {
            // A control frame may go between the fragments of a message; one write per WRITEABLE.
            pingOwed = false
            guard vr_write_ping(wsi, (loop.scratch + loop.pre).assumingMemoryBound(to: UInt8.self), Keepalive.pingPayload) >= 0 else { return -1 }
            if !transmit.isEmpty || pendingClose != nil || transmit.closeRequest != nil { lws_callback_on_writable(wsi) }
            return 0
        }
        guard let chunk = transmit.peek(maxBytes: ClientLoop.fragmentSize) else {
            if let close = pendingClose ?? transmit.closeRequest {
                var reason = Array(close.reason.utf8.prefix(120))
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(close.code)), &reason, reason.count)
                return -1
            }
            return 0  // an unrequested WRITEABLE (e.g. after a ping): nothing to send
        }
        // The frame is made here and handed to lws as raw bytes (see `MaskedFrameWriter`): its header
        // goes in the `pre` bytes in front of the payload.
        let frame = loop.scratch + loop.pre - MaskedFrameWriter.headerBytes(payloadCount: chunk.bytes.count)
        let opcode: MaskedFrameWriter.Opcode = !chunk.isFirst ? .continuation : chunk.isBinary ? .binary : .text
        let length = chunk.bytes.withUnsafeBytes { bytes in
            MaskedFrameWriter.write(into: frame, payload: bytes, opcode: opcode, fin: chunk.isLast, key: UInt32.random(in: .min ... .max))
        }
        // LWS_WRITE_HTTP: lws writes the bytes as they are (buffering what the socket does not take).
        let written = lws_write(wsi, frame.assumingMemoryBound(to: UInt8.self), length, LWS_WRITE_HTTP)
        guard written >= length else { return -1 }
        transmit.consume(chunk.bytes.count)
        if !transmit.isEmpty || pendingClose != nil || transmit.closeRequest != nil { lws_callback_on_writable(wsi) }
        return 0
    }

    private func finish(_ ending: ConnectionEnding) {
        guard !ended else { return }
        ended = true
        wsi = nil
        loop?.forget(id)
        handler?.webSocket(self, ended: ending)
        transmit.close()
    }

    /// The code and reason of a close frame's payload.
    private static func readClose(_ input: UnsafeMutableRawPointer?, _ len: Int) -> (code: UInt16?, reason: String) {
        guard let input, len >= 2 else { return (nil, "") }
        let bytes = UnsafeRawBufferPointer(start: input, count: len)
        let code = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        return (code, String(decoding: bytes[2...], as: UTF8.self))
    }
}
