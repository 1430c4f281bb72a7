import CLibWebSockets
import VigRelayCore

/// Keepalive for the client's WebSocket connections: a network can go silent without closing
/// anything (Wi-Fi gone), and then a client that only receives would wait for ever. The loop's
/// once-a-second tick pings the relay after `policy`'s quiet time (anything received counts) and
/// hangs up after its silence limit; the connection then ends saying the network went silent. The
/// relay answers pings by itself, whatever else it is sending.
enum ClientKeepalive {
    static let policy = Keepalive.Policy(pingAfterSeconds: 10, hangUpAfterSeconds: 30)

    /// The lws policy every client connection gets: no validity timers. Without one lws gives each
    /// connection its default (ping at 300 s), filed in one sorted list by a linear walk (see
    /// `Keepalive`). lws keeps a pointer to it: allocated once, never freed.
    nonisolated(unsafe) static let noLwsTimers: UnsafePointer<lws_retry_bo_t> = {
        let policy = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        policy.initialize(to: lws_retry_bo_t())
        return UnsafePointer(policy)
    }()
}
