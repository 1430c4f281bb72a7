import CLibWebSockets
import VigRelayCore

/// The C entry points lws calls on the service thread. They capture nothing: the `ServiceLoop` comes
/// from the context user pointer, the connection id from the per-connection user memory.
enum LwsCallbacks {
    /// Runs `body` with the `ServiceLoop` of `wsi`'s context, or returns 0 when there is none.
    /// The loop owns the context and outlives every callback, so it is lent without a retain and
    /// release (lws calls back several times per frame relayed; the pair was a quarter of the
    /// service thread's retains at 600 pairs).
    static func withLoop(_ wsi: OpaquePointer?, _ body: (ServiceLoop, OpaquePointer) -> Int32) -> Int32 {
        guard let wsi, let ctx = lws_get_context(wsi), let user = lws_context_user(ctx) else { return 0 }
        return Unmanaged<ServiceLoop>.fromOpaque(user)._withUnsafeGuaranteedRef { body($0, wsi) }
    }
}

/// protocols[0]: plain HTTP (API), network filtering, and WebSockets without our subprotocol.
func lwsHTTPCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                     _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    LwsCallbacks.withLoop(wsi) { loop, wsi in httpEvent(loop, wsi, reason, user, input, len) }
}

private func httpEvent(_ loop: ServiceLoop, _ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                       _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    let idSlot = user?.assumingMemoryBound(to: ConnectionID.self)
    switch reason {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        // Once, as the vhost is made: its SSL_CTX, which a certificate reload changes.
        loop.tlsContext = user.map(OpaquePointer.init)
        return 0
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return loop.shuttingDown ? 1 : 0
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        loop.connectionAccepted(wsi)
        return 0
    case LWS_CALLBACK_WSI_DESTROY:
        loop.connectionDestroyed(wsi)
        return 0
    case LWS_CALLBACK_HTTP:
        guard let idSlot else { return -1 }
        if idSlot.pointee == 0 { idSlot.pointee = loop.makeConnectionID() }
        let path = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "/"
        return loop.httpRequest(idSlot.pointee, wsi: wsi, path: path)
    case LWS_CALLBACK_HTTP_BODY:
        guard let idSlot, let input else { return 0 }
        return loop.httpBody(idSlot.pointee, UnsafeRawBufferPointer(start: input, count: len))
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        guard let idSlot else { return 0 }
        return loop.httpBodyComplete(idSlot.pointee)
    case LWS_CALLBACK_HTTP_WRITEABLE:
        guard let idSlot else { return 0 }
        return loop.httpWriteable(idSlot.pointee)
    case LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if let idSlot { loop.httpClosed(idSlot.pointee) }
        return 0
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        // Before lws checks the upgrade itself: see `WebSocketUpgrade` for what it would not answer.
        let kind = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
        return loop.confirmUpgrade(wsi, to: kind)
    case LWS_CALLBACK_RAW_ADOPT:
        // Only CONNECT and unknown methods land here (lws makes them raw sockets; see `refuseMethod`).
        return loop.refuseMethod(wsi)
    case LWS_CALLBACK_ESTABLISHED:
        // A WebSocket that asked for no subprotocol lands here.
        var bytes = Array("subprotocol vigrelay.v1 required".utf8)
        lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, &bytes, bytes.count)
        return -1
    default:
        return lws_callback_http_dummy(wsi, reason, user, input, len)
    }
}

/// The `vigrelay.v1` WebSocket protocol.
func lwsWebSocketCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                          _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    LwsCallbacks.withLoop(wsi) { loop, wsi in webSocketEvent(loop, wsi, reason, user, input, len) }
}

private func webSocketEvent(_ loop: ServiceLoop, _ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                            _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    let idSlot = user?.assumingMemoryBound(to: ConnectionID.self)
    switch reason {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        loop.drainInbox()
        return 0
    case LWS_CALLBACK_ESTABLISHED:
        guard let idSlot else { return -1 }
        idSlot.pointee = loop.makeConnectionID()
        return loop.webSocketOpened(idSlot.pointee, wsi: wsi)
    case LWS_CALLBACK_RECEIVE:
        guard let idSlot else { return -1 }
        let bytes = input.map { UnsafeRawBufferPointer(start: $0, count: len) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
        return loop.webSocketReceive(idSlot.pointee, bytes)
    case LWS_CALLBACK_RECEIVE_PONG:
        if let idSlot { loop.webSocketPong(idSlot.pointee) }
        return 0
    case LWS_CALLBACK_SERVER_WRITEABLE:
        guard let idSlot else { return -1 }
        return loop.webSocketWriteable(idSlot.pointee)
    case LWS_CALLBACK_CLOSED:
        if let idSlot, idSlot.pointee != 0 { loop.webSocketClosed(idSlot.pointee) }
        return 0
    default:
        return 0
    }
}
