import VigRelayCore

/// Per-connection state of one WebSocket: message reassembly, the send queue, a pending close.
///
/// Thread: owned by the service thread; the `wsi` pointer is never used elsewhere.
final class WebSocketConnection {
    let id: ConnectionID
    let wsi: OpaquePointer
    /// The message being reassembled from fragments.
    var incoming: MessageAssembler
    /// Set after `too_large`: drop the rest of the message and everything after.
    var discarding = false
    var outbound: OutboundQueue
    /// Close code and reason to send once the queue has drained.
    var pendingClose: (code: UInt16, reason: String)?

    init(id: ConnectionID, wsi: OpaquePointer, queueLimit: Int, messageLimit: Int) {
        self.id = id
        self.incoming = MessageAssembler(limitBytes: messageLimit)
        self.wsi = wsi
        self.outbound = OutboundQueue(limitBytes: queueLimit)
    }
}
