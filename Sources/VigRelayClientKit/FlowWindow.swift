import Foundation

/// A cap on bytes sent but not yet received, for `pair`, where one process is both sender and receiver.
///
/// The relay skips frames for a viewer more than 8 MiB behind; keeping the window below that lets
/// `--bitrate 0` run as fast as the receiver reads without losing frames. Thread-safe: `condition`
/// guards `inFlight`.
final class FlowWindow: @unchecked Sendable {
    let limitBytes: Int
    private let condition = NSCondition()
    private var inFlight = 0

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// Takes `bytes` of the window, waiting while it is full (a message alone may exceed it).
    /// False when the window stayed full until the deadline. Sender thread.
    func acquire(_ bytes: Int, until deadline: Date) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while inFlight > 0, inFlight + bytes > limitBytes {
            if !condition.waitBounded(until: deadline) { return false }
        }
        inFlight += bytes
        return true
    }

    /// Gives back `bytes` once they arrived. Receiver (lws) thread.
    func release(_ bytes: Int) {
        condition.lock(); defer { condition.unlock() }
        inFlight = max(0, inFlight - bytes)
        condition.broadcast()
    }
}
