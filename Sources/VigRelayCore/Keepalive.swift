/// Keepalive of one WebSocket: when to ping a peer that has gone quiet, and when to give up on it.
///
/// A network can go silent without closing anything (Wi-Fi gone, a laptop lid shut), and then the
/// other side would wait for ever. Anything heard from the peer (a message, a piece of one, a pong)
/// counts; after `pingAfter` of quiet it is pinged once, and after `hangUpAfter` of quiet the
/// connection is hung up.
///
/// The relay and the client sweep their connections with it once a second from one timer, instead
/// of lws's per-connection validity timers (`retry_and_idle_policy`): lws 4.1 files every timer of
/// a thread in one sorted list with a linear insert, and a new connection's timer, the latest of
/// all, walked the whole list. With 5,000 connections that was 11% of the relay's CPU and of the
/// load generator's while they connected (bench scenario 4, perf).
///
/// Pure state; the owner's thread (an lws service thread) only.
public struct Keepalive: Sendable, Equatable {
    /// How long a quiet connection is left alone before a ping, and before it is hung up.
    public struct Policy: Sendable, Equatable {
        public var pingAfterNanoseconds: UInt64
        public var hangUpAfterNanoseconds: UInt64

        /// `hangUpAfter` must be longer than `pingAfter`, or the peer never gets a chance to answer.
        public init(pingAfterSeconds: Double, hangUpAfterSeconds: Double) {
            precondition(pingAfterSeconds > 0 && hangUpAfterSeconds > pingAfterSeconds, "hang up only after a ping could be answered")
            pingAfterNanoseconds = UInt64(pingAfterSeconds * 1e9)
            hangUpAfterNanoseconds = UInt64(hangUpAfterSeconds * 1e9)
        }
    }

    /// What a sweep asks of the connection.
    public enum Action: Sendable, Equatable {
        /// Send a ping (once per quiet spell).
        case ping
        /// Nothing came for `hangUpAfter`: close the connection.
        case hangUp
    }

    /// What a keepalive ping carries. Not empty: lws 4.1 does not call back for a pong with no
    /// payload. Text: with UTF-8 validation on, lws checks a pong's payload as text and closes with
    /// 1007 if it is not.
    public static let pingPayload = "keepalive"

    public let policy: Policy
    /// When the peer was last heard from (monotonic ns).
    public private(set) var lastHeard: UInt64
    private var pinged = false

    /// A connection that opened at `now` (the handshake counts as hearing from the peer).
    public init(policy: Policy, now: UInt64) {
        self.policy = policy
        lastHeard = now
    }

    /// Something came from the peer at `now`.
    public mutating func heard(at now: UInt64) {
        lastHeard = max(lastHeard, now)
        pinged = false
    }

    /// How long the peer has been quiet at `now`.
    public func quiet(at now: UInt64) -> UInt64 { now > lastHeard ? now - lastHeard : 0 }

    /// What is due at `now`, if anything: a ping once the connection has been quiet for `pingAfter`
    /// (not again until it is heard from), a hang-up once quiet for `hangUpAfter`.
    public mutating func due(at now: UInt64) -> Action? {
        let quiet = quiet(at: now)
        if quiet >= policy.hangUpAfterNanoseconds { return .hangUp }
        if quiet >= policy.pingAfterNanoseconds, !pinged {
            pinged = true
            return .ping
        }
        return nil
    }
}
