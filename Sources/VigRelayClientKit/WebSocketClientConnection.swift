import CLibWebSockets
import CTLSBIO
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
/// lws connects, verifies the certificate and does the upgrade. From then on this class speaks
/// WebSocket itself over lws's TLS connection: it frames and masks what it sends
/// (`MaskedFrameWriter`, handed to lws as raw bytes) and reads what comes itself: lws's reading is
/// switched off (rx flow control) and a libev watcher on the socket calls `readable`, which takes
/// the decrypted bytes with `SSL_read` and parses them (`WebSocketFrameReader`), answering pings
/// and the close handshake. lws 4.1's client took received frames one byte at a time and masked
/// sent ones the same way, which made the load generator, not the relay, the limit of a load test.
/// When lws says ESTABLISHED it has read only the record holding the server's 101 (the relay says
/// nothing before `hello`), so no frame is split between lws and this class; anything lws did parse
/// still arrives through its RECEIVE callbacks and is handled there.
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
    /// Messages lws parsed itself (only before this class reads the socket).
    private var assembler = MessageAssembler(limitBytes: WebSocketClientConnection.messageLimitBytes)
    private var reader = WebSocketFrameReader(limitBytes: WebSocketClientConnection.messageLimitBytes, masked: false)
    static let messageLimitBytes = 64 << 20
    /// The socket watcher that calls `readable`; allocated once open, freed at the end.
    private var watcher: UnsafeMutablePointer<vr_reader_t>?
    /// Bytes read but not parsed yet because the handler paused receiving.
    private var unread: [UInt8] = []
    private var receivePaused = false
    /// With `pauseReceiving(until:)`: reading stays paused until the monotonic clock reads this (ns).
    private var resumeAt: UInt64?
    private var pendingClose: (code: UInt16, reason: String)?
    /// Our close frame went out: only the server's close (or its hang-up) is awaited.
    private var closeSent = false
    /// Set once the connection is being torn down: nothing more is read or written.
    private var hungUp = false
    private var peerClose: (code: UInt16?, reason: String)?
    /// Pongs owed for the server's pings, oldest first.
    private var pongsOwed: [[UInt8]] = []
    /// When the relay was last heard from (a message piece or a pong); set once open.
    private var keepalive: Keepalive?
    /// A ping to write at the next WRITEABLE.
    private var pingOwed = false
    /// `pendingClose` answers the server (its close, or a broken stream): it goes first, then the
    /// connection closes.
    private var closeNow = false
    /// Longest wait for the server's close frame after sending ours.
    static let closeTimeoutSeconds: Int32 = 5
    /// Hung up because nothing came for the silence limit: how long it had been quiet.
    private var silentFor: UInt64?

    /// `load` only: where in each binary message the time its first byte is written goes (see
    /// `LoadStream`); nil: messages go out as they were queued.
    private let writeTimeOffset: Int?

    init(loop: ClientLoop, path: String, handler: any WebSocketClientHandler, transmitLimitBytes: Int = 4 << 20,
         subprotocol: String? = "vigrelay.v1", writeTimeOffset: Int? = nil) {
        self.id = loop.makeConnectionID()
        self.writeTimeOffset = writeTimeOffset
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
        guard pendingClose == nil, !closeSent, let wsi else { return }
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
        guard !receivePaused, wsi != nil else { return }
        receivePaused = true
        setWatching(false)
    }

    /// Caps the kernel's receive buffer for this socket at `bytes` (Linux doubles it for its own
    /// bookkeeping) and stops it growing with the connection: the queue of an emulated slow link
    /// (`SlowLink`). Returns false when the kernel refused. lws thread, once open.
    func limitReceiveBuffer(bytes: Int) -> Bool {
        guard let wsi else { return false }
        var value = Int32(clamping: bytes)
        return setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Stops reading until the monotonic clock reads `time` (ns), and then until the handler is
    /// `readyToReceive`. lws thread.
    func pauseReceiving(until time: UInt64) {
        pauseReceiving()
        resumeAt = max(resumeAt ?? 0, time)
        loop?.wake(id, at: time)
    }

    func wake() {
        guard let wsi, opened else { return }
        if receivePaused, mayResumeReceiving() {
            receivePaused = false
            let held = unread
            unread = []
            if !held.isEmpty { held.withUnsafeBytes { readFrames($0) } }
            if !receivePaused, !hungUp {
                setWatching(true)
                readable()
            }
        }
        if wantsToWrite { lws_callback_on_writable(wsi) }
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
            startReading(wsi)
            vr_batch_install(lws_get_ssl(wsi))
            handler?.webSocketOpened(self)
            if wantsToWrite { lws_callback_on_writable(wsi) }
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
            peerClose = WebSocketFrameReader.closeFields(UnsafeRawBufferPointer(start: input, count: input == nil ? 0 : len))
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

    /// Whether reading, paused, may resume now: the time it was paused until has come and the
    /// handler is ready. Before that time it asks for its wake-up again: the loop keeps one per
    /// connection, the earliest, so a wake-up for a frame to write may have taken its place.
    private func mayResumeReceiving() -> Bool {
        if let resumeAt {
            let now = MonotonicClock.nanoseconds()
            guard now >= resumeAt else {
                loop?.wake(id, at: resumeAt)
                return false
            }
            self.resumeAt = nil
        }
        return handler?.readyToReceive ?? true
    }

    /// Pings a quiet relay, hangs up on a silent one (see `ClientKeepalive`). lws thread.
    func tick(now: UInt64) {
        guard let wsi, silentFor == nil, !hungUp else { return }
        switch keepalive?.due(at: now) {
        case .ping?:
            pingOwed = true
            lws_callback_on_writable(wsi)
        case .hangUp?:
            silentFor = keepalive?.quiet(at: now)
            hangUp()
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

    /// Whether a frame is waiting to be written.
    private var wantsToWrite: Bool {
        !pongsOwed.isEmpty || pingOwed || !transmit.isEmpty || pendingClose != nil || transmit.closeRequest != nil
    }

    // MARK: reading the socket

    /// Switches lws's reading off and watches the socket instead.
    private func startReading(_ wsi: OpaquePointer) {
        guard watcher == nil, let events = loop?.eventLoop else { return }
        if let ssl = lws_get_ssl(wsi) {
            SSL_set_read_ahead(ssl, 1)
            SSL_set_default_read_buffer_len(ssl, ClientLoop.readAheadBytes)
        }
        watcher = vr_reader_new(wsi, Unmanaged.passUnretained(self).toOpaque()) { user in
            guard let user else { return }
            Unmanaged<WebSocketClientConnection>.fromOpaque(user).takeUnretainedValue().readable()
        }
        guard let watcher else { return }  // out of memory: lws goes on reading
        lws_rx_flow_control(wsi, 0)
        vr_reader_set(events, watcher, 1)
    }

    private func setWatching(_ on: Bool) {
        guard let watcher, let events = loop?.eventLoop else { return }
        vr_reader_set(events, watcher, on ? 1 : 0)
    }

    /// Stops the watcher for good (before lws closes the socket) and frees it.
    private func stopReading() {
        guard let watcher, let events = loop?.eventLoop else { return }
        vr_reader_free(events, watcher)
        self.watcher = nil
    }

    /// The socket is readable: reads and parses what TLS has, up to a budget per wake-up, until
    /// nothing is left or the handler pauses. As the relay's (`ServiceLoop.readable`): it stops once
    /// OpenSSL holds nothing read ahead (the watcher fires again while bytes wait in the socket), and
    /// kicks the watcher when it stops with records still read ahead.
    private func readable() {
        guard let wsi, let loop, !hungUp else { return }
        var budget = 4 * ClientLoop.receiveBufferBytes
        while budget > 0, !receivePaused, !hungUp {
            let n = Int(vr_tls_read(wsi, loop.receiveBuffer, Int32(ClientLoop.receiveBufferBytes)))
            if n == 0 { return }
            if n < 0 {
                hangUp()
                return
            }
            budget -= n
            keepalive?.heard(at: MonotonicClock.nanoseconds())
            readFrames(UnsafeRawBufferPointer(start: loop.receiveBuffer, count: n))
            guard let watcher, vr_reader_has_pending(watcher) != 0 else { return }
        }
        if let events = loop.eventLoop, let watcher { vr_reader_kick(events, watcher) }
    }

    /// Parses `bytes` and acts on what they complete; keeps the rest unread if the handler pauses.
    private func readFrames(_ bytes: UnsafeRawBufferPointer) {
        var position = 0
        while !hungUp, let event = reader.next(bytes, at: &position) {
            switch event {
            case .message(let message, let binary):
                handler?.webSocket(self, received: message, binary: binary)
            case .ping(let payload):
                pongsOwed.append(payload)
                if let wsi { lws_callback_on_writable(wsi) }
            case .pong:
                break
            case .close(let code, let reason):
                peerClose = (code, reason)
                // The answer to our close: done. Otherwise answer with the same code, first thing.
                if closeSent { hangUp() } else { answerClose(code: code ?? 1000, reason: "") }
                return
            case .failure(let code, let reason):
                answerClose(code: code, reason: reason)
                return
            }
            if receivePaused {
                unread = Array(bytes[position...])
                return
            }
        }
    }

    /// Queues a close frame to go before anything else, after which the connection closes.
    private func answerClose(code: UInt16, reason: String) {
        guard !closeSent, let wsi else { return }
        pendingClose = (code, reason)
        closeNow = true
        setWatching(false)
        lws_callback_on_writable(wsi)
    }

    /// Closes the connection at lws's next turn, without a close frame.
    private func hangUp() {
        guard !hungUp, let wsi else { return }
        hungUp = true
        setWatching(false)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }

    // MARK: writing

    private func writeable(_ wsi: OpaquePointer) -> Int32 {
        guard let loop, !hungUp, !closeSent else { return 0 }
        switch vr_batch_flush(lws_get_ssl(wsi)) {  // the rest of a frame the socket did not take
        case 1: break
        case 0:
            lws_callback_on_writable(wsi)
            return 0
        default: return -1
        }
        // One frame per WRITEABLE; control frames may go between the fragments of a message.
        if closeNow, let close = pendingClose { return writeClose(wsi, loop, close) }
        let result: Int32
        if !pongsOwed.isEmpty {
            result = pongsOwed.removeFirst().withUnsafeBytes { writeFrame(wsi, loop, $0, .pong, fin: true) }
        } else if pingOwed {
            pingOwed = false
            result = Array(Keepalive.pingPayload.utf8).withUnsafeBytes { writeFrame(wsi, loop, $0, .ping, fin: true) }
        } else if let until = transmit.heldUntil(now: MonotonicClock.nanoseconds()) {
            loop.wake(id, at: until)  // not due yet: the loop's alarm brings us back
            return 0
        } else if let chunk = transmit.peek(maxBytes: ClientLoop.fragmentSize) {
            let opcode: MaskedFrameWriter.Opcode = !chunk.isFirst ? .continuation : chunk.isBinary ? .binary : .text
            let stamp = chunk.isFirst && chunk.isBinary ? writeTimeOffset.map { ($0, MonotonicClock.nanoseconds()) } : nil
            result = chunk.bytes.withUnsafeBytes { writeFrame(wsi, loop, $0, opcode, fin: chunk.isLast, stamp: stamp) }
            if result == 0 { transmit.consume(chunk.bytes.count) }
        } else if let close = pendingClose ?? transmit.closeRequest {
            return writeClose(wsi, loop, close)
        } else {
            return 0  // an unrequested WRITEABLE: nothing to send
        }
        if result == 0, wantsToWrite || vr_batch_pending(lws_get_ssl(wsi)) > 0 { lws_callback_on_writable(wsi) }
        return result
    }

    /// Writes our close frame. Answering the server's close (or a broken stream), the connection
    /// closes at once; otherwise it waits a few seconds for the server's close.
    private func writeClose(_ wsi: OpaquePointer, _ loop: ClientLoop, _ close: (code: UInt16, reason: String)) -> Int32 {
        pendingClose = nil
        closeSent = true
        var payload = [UInt8(close.code >> 8), UInt8(close.code & 0xFF)]
        payload += close.reason.utf8.prefix(120)
        guard payload.withUnsafeBytes({ writeFrame(wsi, loop, $0, .close, fin: true) }) == 0, !closeNow else { return -1 }
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_ACK, Self.closeTimeoutSeconds)
        return 0
    }

    /// Frames `payload` in the scratch buffer (see `MaskedFrameWriter`, also for `stamp`) and writes it.
    private func writeFrame(_ wsi: OpaquePointer, _ loop: ClientLoop, _ payload: UnsafeRawBufferPointer,
                            _ opcode: MaskedFrameWriter.Opcode, fin: Bool, stamp: (offset: Int, nanoseconds: UInt64)? = nil) -> Int32 {
        // The header goes in the `pre` bytes in front of the payload's place.
        let frame = loop.scratch + loop.pre - MaskedFrameWriter.headerBytes(payloadCount: payload.count)
        let length = MaskedFrameWriter.write(into: frame, payload: payload, opcode: opcode, fin: fin, key: UInt32.random(in: .min ... .max),
                                             stamp: stamp)
        // LWS_WRITE_HTTP: lws writes the bytes as they are; their TLS records go out together
        // (`vr_batch_begin`), and what the socket does not take is kept and sent first next time.
        let ssl = lws_get_ssl(wsi)
        vr_batch_begin(ssl)
        let written = lws_write(wsi, frame.assumingMemoryBound(to: UInt8.self), length, LWS_WRITE_HTTP)
        return vr_batch_end(ssl) >= 0 && written >= length ? 0 : -1
    }

    private func finish(_ ending: ConnectionEnding) {
        guard !ended else { return }
        ended = true
        stopReading()
        wsi = nil
        loop?.forget(id)
        handler?.webSocket(self, ended: ending)
        transmit.close()
    }

}
