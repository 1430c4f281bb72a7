import CLibWebSockets

/// A client connection a `ClientLoop` drives: a WebSocket or an HTTPS exchange.
///
/// Thread: created on the caller's thread, handed to the lws thread once through the loop's inbox,
/// and from then on touched only there (except members documented as thread-safe).
protocol LoopConnection: AnyObject {
    /// The id lws carries for this connection (its opaque user data).
    var id: UInt64 { get }
    /// Starts connecting.
    func connect(context: OpaquePointer, loop: ClientLoop)
    /// One lws callback for this connection; the return value goes back to lws.
    func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32
    /// The loop was woken: pick up work other threads queued.
    func wake()
    /// The loop is stopping (or never started this connection): report the end if not done yet.
    func abandon()
    /// The loop's once-a-second tick, at `now` (monotonic ns): keepalive.
    func tick(now: UInt64)
}

extension LoopConnection {
    func tick(now: UInt64) {}
}

/// The single C entry point lws calls on the loop thread. It captures nothing: the loop comes from
/// the context user pointer, the connection from the id in the wsi's opaque user data.
func clientLoopCallback(_ wsi: OpaquePointer?, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                        _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
    guard let wsi, let ctx = lws_get_context(wsi), let owner = lws_context_user(ctx) else { return 0 }
    let loop = Unmanaged<ClientLoop>.fromOpaque(owner).takeUnretainedValue()
    if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
        loop.drainInbox()
        return 0
    }
    guard let opaque = lws_get_opaque_user_data(wsi),
          let connection = loop.connection(UInt64(UInt(bitPattern: opaque)))
    else { return 0 }
    return connection.handle(wsi, reason, user, input, len)
}

/// Starts an lws client connection to `endpoint` for connection `id` (found again through the wsi's
/// opaque user data). `method` nil means a WebSocket upgrade offering `subprotocol` (nil: offer none,
/// for other relays; the connection is still bound to this client's one protocol handler).
/// No connection gets lws's validity timers (see `ClientKeepalive`). lws copies the strings it keeps, so temporary C
/// copies suffice. Returns false if lws refused at once.
func startClientConnection(context: OpaquePointer, endpoint: ServerEndpoint, trust: ClientTrust, path: String,
                           method: String?, id: UInt64, subprotocol: String? = "vigrelay.v1") -> Bool {
    let strings = [endpoint.host, path, endpoint.hostHeader, "http/1.1", "vigrelay.v1", method, subprotocol]
    let copies = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    let s = copies.map { $0.map { UnsafePointer($0) } }
    var info = lws_client_connect_info()
    info.context = context
    info.address = s[0]
    info.port = Int32(endpoint.port)
    info.ssl_connection = trust.connectionFlags
    info.path = s[1]
    info.host = s[2]
    info.alpn = s[3]
    info.local_protocol_name = s[4]
    if method == nil {
        info.protocol = s[6]
    } else {
        info.method = s[5]
    }
    info.retry_and_idle_policy = ClientKeepalive.noLwsTimers
    info.opaque_user_data = UnsafeMutableRawPointer(bitPattern: UInt(id))
    return lws_client_connect_via_info(&info) != nil
}
