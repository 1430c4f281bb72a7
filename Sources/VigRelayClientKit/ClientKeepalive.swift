import CLibWebSockets

/// Keepalive for the client's WebSocket connections: a network can go silent without closing
/// anything (Wi-Fi gone), and then a client that only receives would wait for ever. lws pings the
/// relay when no pong has come for `pingSeconds` (traffic does not count, only a pong does) and
/// hangs up when none has come for `hangupSeconds`; the connection then ends saying the network
/// went silent. The relay answers pings by itself, whatever else it is sending.
enum ClientKeepalive {
    static let pingSeconds: UInt16 = 10
    static let hangupSeconds: UInt16 = 30

    /// The policy lws keeps a pointer to for each connection: allocated once, never freed.
    nonisolated(unsafe) static let policy: UnsafePointer<lws_retry_bo_t> = {
        let policy = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        policy.initialize(to: lws_retry_bo_t())
        policy.pointee.secs_since_valid_ping = pingSeconds
        policy.pointee.secs_since_valid_hangup = hangupSeconds
        return UnsafePointer(policy)
    }()
}
