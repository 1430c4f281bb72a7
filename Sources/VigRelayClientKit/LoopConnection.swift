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

/// Duplicates optional strings as C strings for the length of `body` (lws copies what it keeps).
func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let copies = strings.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    return body(copies.map { $0.map { UnsafePointer($0) } })
}
