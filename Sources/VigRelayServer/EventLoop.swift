import CLibWebSockets

/// The libev loop (epoll) that lws runs on, in place of lws's default poll() loop.
///
/// With poll(), every turn of the loop asks the kernel about every socket: with hundreds of
/// sessions that was a quarter of the server's CPU (`tcp_poll`, `sock_poll`, `fdget`/`fput`), paid
/// again for each handful of ready sockets. epoll keeps the interest list in the kernel and returns
/// only the ready ones. lws drives libev through its `evlib_ev` plugin (Debian's
/// libwebsockets-evlib-ev); the loop is "foreign" (ours), so lws installs no signal handlers and
/// each `runOnce` returns after one turn, as `lws_service` did: the shutdown checks stay ours.
/// `lws_cancel_service` still wakes it (lws watches its event fd on this loop).
///
/// Thread: made, run and destroyed on the service thread.
final class EventLoop {
    /// The `ev_loop *`, for `lws_context_creation_info.foreign_loops`.
    let loop: OpaquePointer

    /// Makes a loop on epoll, or on libev's best backend if epoll is not available; nil if libev
    /// cannot make one at all.
    init?() {
        guard let made = vr_ev_loop_new() else { return nil }
        loop = made
    }

    /// libev's name for the backend it uses (epoll, poll, select), for the start-up log.
    var backendName: String {
        switch UInt32(ev_backend(loop)) {
        case UInt32(EVBACKEND_EPOLL): "epoll"
        case UInt32(EVBACKEND_POLL): "poll"
        case UInt32(EVBACKEND_SELECT): "select"
        case let other: "libev backend \(other)"
        }
    }

    /// Waits for the next events (or timer) and handles them, then returns.
    func runOnce() { vr_ev_run_once(loop) }

    /// Frees the loop; call after `lws_context_destroy`.
    func destroy() { ev_loop_destroy(loop) }
}
