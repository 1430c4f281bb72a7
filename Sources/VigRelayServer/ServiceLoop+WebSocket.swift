import CLibWebSockets
import CTLSBIO
import Dispatch
import Glibc
import VigRelayCore

/// WebSocket callbacks of the service loop. Service thread only.
extension ServiceLoop {
    func webSocketOpened(_ id: ConnectionID, wsi: OpaquePointer) -> Int32 {
        let conn = WebSocketConnection(id: id, wsi: wsi, queueLimit: core.limits.viewerQueueBytes, messageLimit: core.limits.maxMessageBytes,
                                       keepalive: Keepalive(policy: configuration.keepalive, now: Self.monotonicNanos()))
        webSockets[id] = conn
        if !conn.keepUnsentSmall() {
            logger.warning("cannot keep the kernel's unsent bytes small (TCP_NOTSENT_LOWAT): a slow viewer's catch-up reaches less",
                           metadata: ["conn.id": "\(id)", "errno": "\(errno)"])
        }
        let path = header(wsi, WSI_TOKEN_GET_URI) ?? ""
        if helloDeadlines.add(id, now: Self.monotonicMicros()), let context, let helloTimer {
            helloTimer.schedule(context: context, afterMicroseconds: helloDeadlines.timeoutMicros)
        }
        startReading(conn)
        guard vr_batch_install(lws_get_ssl(wsi)) == 1 else {  // out of memory: every write goes through it
            logger.error("cannot set up a WebSocket's writes (out of memory?): closing it", metadata: ["conn.id": "\(id)"])
            return -1
        }
        perform(isPastConnectionLimit(wsi) ? core.openedPastConnectionLimit(id, quota: connectionQuota) : core.opened(id, path: path))
        return 0
    }

    func webSocketReceive(_ id: ConnectionID, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let conn = webSockets[id] else { return -1 }
        conn.keepalive.heard(at: Self.monotonicNanos())
        if conn.discarding || conn.pendingClose != nil { return 0 }
        let wsi = conn.wsi
        let outcome = conn.incoming.append(bytes, first: lws_is_first_fragment(wsi) != 0, final: lws_is_final_fragment(wsi) != 0,
                                           binary: lws_frame_is_binary(wsi) != 0, frameRemaining: Int(lws_remaining_packet_payload(wsi)))
        guard case .message(let message, let binary) = outcome else {
            if outcome == .tooLarge {
                conn.discarding = true
                perform(core.messageTooLarge(id))
            }
            return 0
        }
        received(id, message, binary: binary)
        return 0
    }

    /// A whole message from a WebSocket (read by the relay or by lws), to the core; binary ones are
    /// media, counted for the metrics.
    func received(_ id: ConnectionID, _ message: [UInt8], binary: Bool) {
        guard binary else { return perform(core.receivedText(id, message)) }
        metrics.mediaReceivedFrames.increment()
        metrics.mediaReceivedBytes.increment(by: Int64(message.count))
        perform(core.receivedBinary(id, message))
    }

    /// A pong came through lws (only while lws reads: see `ServiceLoop+Reading`).
    func webSocketPong(_ id: ConnectionID) {
        webSockets[id]?.keepalive.heard(at: Self.monotonicNanos())
    }

    func webSocketWriteable(_ id: ConnectionID) -> Int32 {
        guard let conn = webSockets[id] else { return -1 }
        switch vr_batch_flush(lws_get_ssl(conn.wsi)) {  // the rest of a frame the socket did not take
        case 1: break
        case 0:
            lws_callback_on_writable(conn.wsi)
            return 0
        default: return -1
        }
        if conn.closeNow, let close = conn.pendingClose { return writeClose(conn, close) }
        if let pong = conn.pongOwed {
            conn.pongOwed = nil
            guard vr_write_pong(conn.wsi, (scratch + pre).assumingMemoryBound(to: UInt8.self), pong, pong.count) >= 0 else { return -1 }
            if !conn.outbound.isEmpty || conn.pendingClose != nil || conn.pingOwed { lws_callback_on_writable(conn.wsi) }
            return 0
        }
        if conn.pingOwed {
            // A control frame may go between the fragments of a message; one write per WRITEABLE.
            conn.pingOwed = false
            guard vr_write_ping(conn.wsi, (scratch + pre).assumingMemoryBound(to: UInt8.self), Keepalive.pingPayload) >= 0 else { return -1 }
            if !conn.outbound.isEmpty || conn.pendingClose != nil { lws_callback_on_writable(conn.wsi) }
            return 0
        }
        guard !conn.outbound.isEmpty else {
            if let close = conn.pendingClose { return writeClose(conn, close) }
            return 0  // an unrequested WRITEABLE (e.g. after a ping): nothing to send
        }
        return writeChunk(conn) ? 0 : -1
    }

    /// Has lws send the close frame (returning -1 from WRITEABLE), with reading handed back to it so
    /// that it reads the peer's answer and closes.
    private func writeClose(_ conn: WebSocketConnection, _ close: (code: UInt16, reason: String)) -> Int32 {
        handBackReading(conn)
        var reason = Array(close.reason.utf8.prefix(120))
        lws_close_reason(conn.wsi, lws_close_status(rawValue: UInt32(close.code)), &reason, reason.count)
        return -1
    }

    /// A media frame was queued on a connection with nothing else queued: writes it now, without
    /// waiting for a WRITEABLE turn, unless part of an earlier write is still held (by the batching
    /// BIO, or by lws for its own frames: the socket was full then) or something else must go first.
    /// Asking for WRITEABLE costs two `epoll_ctl`s and a turn of the loop per frame, and the socket of
    /// a viewer that keeps up nearly always has room; what it does not take, the batching BIO keeps
    /// for the next WRITEABLE, and nothing more is written here until that is gone.
    func sendNow(_ conn: WebSocketConnection) {
        guard !conn.pingOwed, conn.pendingClose == nil, !conn.hungUp, lws_partial_buffered(conn.wsi) == 0,
              vr_batch_pending(lws_get_ssl(conn.wsi)) == 0 else {
            lws_callback_on_writable(conn.wsi)
            return
        }
        if !writeChunk(conn) { hangUp(conn) }  // outside its own callback, so it cannot return -1
    }

    /// Closes `conn` without a close frame: nothing more is read, lws closes it at its next turn.
    func hangUp(_ conn: WebSocketConnection) {
        conn.hungUp = true
        setReading(conn, false)
        lws_set_timeout(conn.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }

    /// Writes the next fragment (<= `fragmentSize`) of the queue as one WebSocket frame: its header
    /// in the scratch buffer, the payload straight from the message (`vr_batch_send`: the frame's
    /// TLS records go to the socket with one `write`, and what the socket does not take is kept and
    /// sent first at the next WRITEABLE). Asks for WRITEABLE if more is waiting. False when the
    /// write failed (the connection is broken).
    private func writeChunk(_ conn: WebSocketConnection) -> Bool {
        guard let chunk = conn.outbound.peekChunk(maxBytes: Self.fragmentSize) else { return true }
        let opcode: UInt8 = !chunk.isFirst ? 0x0 : chunk.isBinary ? 0x2 : 0x1
        let head = WebSocketFrameHeader.write(into: scratch, opcode: opcode, fin: chunk.isLast, payloadCount: chunk.bytes.count)
        let sent = chunk.bytes.withUnsafeBytes { payload in
            vr_batch_send(lws_get_ssl(conn.wsi), scratch.assumingMemoryBound(to: UInt8.self), Int32(head),
                          payload.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(payload.count))
        }
        guard sent >= 0 else { return false }
        conn.outbound.consume(chunk.bytes.count)
        if sent == 0 || !conn.outbound.isEmpty || conn.pendingClose != nil { lws_callback_on_writable(conn.wsi) }
        return true
    }

    /// The oldest hello deadline came: connections still without a hello are told and closed (the
    /// core ignores those that said hello meanwhile); the timer moves on to the next deadline.
    func onHelloDeadline() {
        let now = Self.monotonicMicros()
        for id in helloDeadlines.expire(now: now) where webSockets[id] != nil {
            perform(core.helloTimedOut(id))
        }
        if let next = helloDeadlines.nextDue(now: now), let context, let helloTimer {
            helloTimer.schedule(context: context, afterMicroseconds: max(next, 1_000))
        }
    }

    /// Pings the WebSockets that have been quiet for the keepalive's `pingAfter`, hangs up those
    /// quiet for its `hangUpAfter` (a network that went silent) and those being closed that did not
    /// read what was queued before their close frame in time. Called by the tick, once a second.
    func sweepConnections() {
        let now = Self.monotonicNanos()
        for conn in webSockets.values where !conn.hungUp {
            if let deadline = conn.closeDeadline, now >= deadline {
                logger.info("cutting off a connection that did not read its close in time", metadata: ["conn.id": "\(conn.id)"])
                hangUp(conn)
                continue
            }
            if pausedForDisk.contains(conn.id) {
                // Not read while the disk catches up, so its bytes and pongs go unseen: not silent.
                conn.keepalive.heard(at: now)
                continue
            }
            switch conn.keepalive.due(at: now) {
            case nil:
                continue
            case .ping:
                conn.pingOwed = true
                lws_callback_on_writable(conn.wsi)
            case .hangUp:
                logger.notice("hanging up a silent connection: nothing came, not even a pong", metadata: [
                    "conn.id": "\(conn.id)", "quiet.seconds": "\(conn.keepalive.quiet(at: now) / 1_000_000_000)"])
                hangUp(conn)
            }
        }
    }

    /// Microseconds on the monotonic clock.
    static func monotonicMicros() -> Int64 { Int64(monotonicNanos() / 1_000) }

    /// Nanoseconds on the monotonic clock.
    static func monotonicNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    func webSocketClosed(_ id: ConnectionID) {
        guard let conn = webSockets.removeValue(forKey: id) else { return }
        stopReading(conn)
        if conn.outbound.skippedTotal > 0 {
            logger.info("viewer closed after skipping frames", metadata: ["conn.id": "\(id)", "skipped.total": "\(conn.outbound.skippedTotal)"])
        }
        let actions = core.closed(id)
        if !destroying { perform(actions) }
    }

    /// A request header as a String, or nil when absent.
    func header(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let copied = Int(lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token))
        guard copied >= 0 else { return nil }
        return String(decoding: buffer.prefix(copied).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
