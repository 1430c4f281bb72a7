import CLibWebSockets
import CTLSBIO
import VigRelayCore

/// The relay reads its WebSockets' frames itself. lws accepts the connection, runs TLS and the
/// upgrade; at ESTABLISHED the connection switches lws's reading off (rx flow control) and puts a
/// libev watcher of its own on the socket, which takes the decrypted bytes with `SSL_read` and
/// parses them (`WebSocketFrameReader`: the payload unmasked 64 bytes at a time once it is copied
/// into the message). lws 4.1's server parser unmasked four bytes at a time and handed the payload
/// over in pieces to be copied again: most of lws's share of the relay's CPU.
///
/// This relies on lws having read nothing past the upgrade request at ESTABLISHED: a client must
/// wait for the server's 101 before it sends a frame (RFC 6455, 4.1), and browsers do. Data frames
/// are written by the relay too (`ServiceLoop.writeChunk`, on lws's WRITEABLE turns); control frames
/// and the close handshake stay lws's: before the relay's close frame goes out, reading is handed
/// back to lws, which then reads the peer's answer and closes.
///
/// Service thread only.
extension ServiceLoop {
    /// Most read from one connection per wake-up before the others get their turn (the watcher fires
    /// again while bytes wait in the socket).
    static let readBudgetBytes = 256 << 10
    /// One `SSL_read` (OpenSSL returns one TLS record's bytes, at most 16 KiB, per call).
    static let receiveBufferBytes = 64 << 10
    /// The most one `read` from the socket takes (`vr_read_ahead_install`): the read budget.
    static let readAheadBytes = readBudgetBytes

    /// Takes over reading `conn` from lws.
    func startReading(_ conn: WebSocketConnection) {
        guard conn.watcher == nil, let eventLoop else { return }
        vr_read_ahead_install(lws_get_ssl(conn.wsi), Self.readAheadBytes)  // out of memory: two reads a record
        conn.watcher = vr_reader_new(conn.wsi, Unmanaged.passUnretained(conn).toOpaque()) { user in
            guard let user else { return }
            let conn = Unmanaged<WebSocketConnection>.fromOpaque(user).takeUnretainedValue()
            guard let ctx = lws_get_context(conn.wsi), let loop = lws_context_user(ctx) else { return }
            Unmanaged<ServiceLoop>.fromOpaque(loop)._withUnsafeGuaranteedRef { $0.readable(conn) }
        }
        guard let watcher = conn.watcher else { return }  // out of memory (or no TLS): lws goes on reading
        lws_rx_flow_control(conn.wsi, 0)
        vr_reader_set(eventLoop, watcher, 1)
    }

    /// Starts or stops the watcher (the disk pausing a camera, or the connection closing).
    func setReading(_ conn: WebSocketConnection, _ on: Bool) {
        guard let watcher = conn.watcher, let eventLoop else { return }
        vr_reader_set(eventLoop, watcher, on ? 1 : 0)
    }

    /// Stops the watcher for good and frees it (the connection closed; lws closes the socket next).
    func stopReading(_ conn: WebSocketConnection) {
        guard let watcher = conn.watcher, let eventLoop else { return }
        vr_reader_free(eventLoop, watcher)
        conn.watcher = nil
    }

    /// Gives reading back to lws, for its close handshake: it reads the peer's close and closes.
    func handBackReading(_ conn: WebSocketConnection) {
        guard conn.watcher != nil else { return }
        stopReading(conn)
        lws_rx_flow_control(conn.wsi, 1)
    }

    /// The socket is readable: reads and parses what TLS has, up to a budget per wake-up, until
    /// nothing is left, the connection is paused for the disk or it closes.
    ///
    /// Reading stops as soon as nothing read ahead is held (by the read-ahead BIO or inside OpenSSL):
    /// what the socket may still hold, its readiness shows (libev watches it level-triggered), so no
    /// `read` is spent to hear "nothing". Stopping with bytes still held (out of budget) kicks the
    /// watcher for the next turn.
    func readable(_ conn: WebSocketConnection) {
        var budget = Self.readBudgetBytes
        while budget > 0, conn.isReading {
            let n = Int(vr_tls_read(conn.wsi, receiveBuffer, Int32(Self.receiveBufferBytes)))
            if n == 0 { return }
            if n < 0 {
                hangUp(conn)  // closed or broken without a close frame
                return
            }
            budget -= n
            conn.keepalive.heard(at: Self.monotonicNanos())
            readFrames(conn, UnsafeRawBufferPointer(start: receiveBuffer, count: n))
            guard let watcher = conn.watcher, vr_reader_has_pending(watcher) != 0 else { return }
        }
        if let eventLoop, let watcher = conn.watcher { vr_reader_kick(eventLoop, watcher) }
    }

    /// Acts on every frame `bytes` complete. A pause for the disk takes effect after them: at most
    /// one read (64 KiB) more than the budget.
    private func readFrames(_ conn: WebSocketConnection, _ bytes: UnsafeRawBufferPointer) {
        var position = 0
        while !conn.closeNow, !conn.hungUp, let event = conn.reader.next(bytes, at: &position) {
            switch event {
            case .message(let message, let binary):
                // Once a close is under way nothing more is taken in (the peer may still send).
                guard conn.pendingClose == nil else { continue }
                received(conn.id, message, binary: binary)
            case .ping(let payload):
                conn.pongOwed = payload
                lws_callback_on_writable(conn.wsi)
            case .pong:
                break
            case .close(let code, _):
                // Answered with the same code (1000 when it gave none), before anything still queued.
                closeNow(conn, code: code ?? RelayCloseCode.normal, reason: "")
            case .failure(let code, let reason):
                setReading(conn, false)
                if code == RelayCloseCode.messageTooBig {
                    perform(core.messageTooLarge(conn.id))  // an error message first, then the close
                } else {
                    closeNow(conn, code: code, reason: reason)
                }
            }
        }
    }

    /// Closes `conn` with `code` at its next WRITEABLE, dropping what is still queued.
    func closeNow(_ conn: WebSocketConnection, code: UInt16, reason: String) {
        setReading(conn, false)
        conn.pendingClose = (code, reason)
        conn.closeNow = true
        conn.closeDeadline = Self.monotonicNanos() + Self.closeSendNanoseconds
        lws_callback_on_writable(conn.wsi)
    }
}
