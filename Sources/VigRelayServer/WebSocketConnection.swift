import CLibWebSockets
import Glibc
import VigRelayCore

/// Per-connection state of one WebSocket: reading its frames, the send queue, keepalive, a pending close.
///
/// Thread: owned by the service thread; the `wsi` pointer is never used elsewhere.
final class WebSocketConnection {
    let id: ConnectionID
    let wsi: OpaquePointer
    /// Frames read by the relay itself (`ServiceLoop+Reading`), from ESTABLISHED until the close.
    var reader: WebSocketFrameReader
    /// The libev watcher on the socket while the relay reads it (stopped while the camera is paused
    /// for the disk).
    var watcher: UnsafeMutablePointer<vr_reader_t>?
    /// Whether the watcher is started.
    var isReading: Bool { watcher.map { vr_reader_is_on($0) != 0 } ?? false }
    /// What lws itself parsed (only what came with the upgrade, which a client must not send), as
    /// lws hands it over in pieces.
    var incoming: MessageAssembler
    /// Set after `too_large`: drop the rest of the message and everything after.
    var discarding = false
    var outbound: OutboundQueue
    /// Close code and reason to send once the queue has drained.
    var pendingClose: (code: UInt16, reason: String)?
    /// When a connection with a `pendingClose` is cut off if it still has not read its queue.
    var closeDeadline: UInt64?
    /// When the peer was last heard from, and whether a ping or a hang-up is due (swept each tick).
    var keepalive: Keepalive
    /// A ping to write at the next WRITEABLE.
    var pingOwed = false
    /// The payload of the peer's latest ping, to answer with a pong at the next WRITEABLE.
    var pongOwed: [UInt8]?
    /// The `pendingClose` goes before anything still queued (the peer closed, or broke the protocol).
    var closeNow = false
    /// Hung up (silent, or too slow to close); lws closes it on its next turn.
    var hungUp = false
    /// Bytes of the socket's send buffer not yet sent that the kernel keeps at most
    /// (TCP_NOTSENT_LOWAT): a few frames, so that the rest of a slow viewer's backlog waits in
    /// `outbound`, where a `catch_up` can drop it.
    static let unsentBytes: Int32 = 16 << 10

    init(id: ConnectionID, wsi: OpaquePointer, queueLimit: Int, messageLimit: Int, keepalive: Keepalive) {
        self.id = id
        self.keepalive = keepalive
        self.reader = WebSocketFrameReader(limitBytes: messageLimit, masked: true)
        self.incoming = MessageAssembler(limitBytes: messageLimit)
        self.wsi = wsi
        // Room for the media limit and two messages of the largest size on top (a signal and
        // the replies to what the peer sent), then the peer is taken to have stopped reading.
        self.outbound = OutboundQueue(limitBytes: queueLimit, headroomBytes: 2 * messageLimit)
    }

    /// Keeps the kernel's unsent bytes to `unsentBytes`, from the connection's start. Otherwise a
    /// slow link's send buffer grows to megabytes (the kernel sizes it by the connection's window),
    /// seconds to minutes of a camera out of the relay's reach: a viewer's first catch-up could not
    /// drop them. Returns false when the kernel refused.
    func keepUnsentSmall() -> Bool {
        var bytes = Self.unsentBytes
        return setsockopt(lws_get_socket_fd(wsi), Int32(IPPROTO_TCP), TCP_NOTSENT_LOWAT, &bytes, socklen_t(MemoryLayout<Int32>.size)) == 0
    }
}
