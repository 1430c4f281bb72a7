import Foundation

/// Messages waiting to be written to one WebSocket, in order.
///
/// Producers (a sender thread, or the lws thread itself for control messages) append whole messages;
/// the lws thread takes them out fragment by fragment. Bounded in bytes: `push` waits while the queue
/// holds `limitBytes` or more, so a fast producer cannot outrun the network or grow memory. A message
/// may be held until a time (`notBefore`, monotonic ns): `load` hands its paced frames over before
/// they are due, so that the lws thread, woken by its own alarm, writes each when it is due.
/// Whatever is queued behind a held message waits for it.
/// Thread-safe: `condition` guards all state.
final class TransmitQueue: @unchecked Sendable {
    /// Bytes queued above which `push` waits.
    let limitBytes: Int

    private struct Message {
        var bytes: [UInt8]
        var isBinary: Bool
        var notBefore: UInt64
    }

    private let condition = NSCondition()
    // All guarded by `condition`.
    private var items: [Message] = []
    private var head = 0
    private var sentOfHead = 0
    private var queuedBytes = 0
    private var closed = false
    private var closeAfterQueue: (code: UInt16, reason: String)?

    init(limitBytes: Int) { self.limitBytes = limitBytes }

    /// What became of a `push`.
    enum PushOutcome: Equatable {
        /// Queued; `wasEmpty` says the loop needs a wake-up to start writing.
        case queued(wasEmpty: Bool)
        /// The connection is gone.
        case closed
        /// The queue stayed full until the deadline: the network stalled.
        case stalled
    }

    /// Appends a message, first waiting while the queue is full (until `deadline`; nil: do not wait),
    /// to be written once the monotonic clock reads `notBefore` (0: as soon as it can).
    func push(_ bytes: [UInt8], binary: Bool, waitUntil deadline: Date? = .distantFuture, notBefore: UInt64 = 0) -> PushOutcome {
        condition.lock(); defer { condition.unlock() }
        if let deadline {
            while !closed, queuedBytes >= limitBytes {
                if !condition.waitBounded(until: deadline) { return .stalled }
            }
        }
        guard !closed else { return .closed }
        let wasEmpty = head == items.count
        items.append(Message(bytes: bytes, isBinary: binary, notBefore: notBefore))
        queuedBytes += bytes.count
        return .queued(wasEmpty: wasEmpty)
    }

    /// Appends a message only if the queue is below its limit: `.stalled` (nothing queued) when it is
    /// full. Never waits: for a thread that feeds many connections.
    func pushIfRoom(_ bytes: [UInt8], binary: Bool, notBefore: UInt64 = 0) -> PushOutcome {
        condition.lock(); defer { condition.unlock() }
        guard !closed else { return .closed }
        guard queuedBytes < limitBytes else { return .stalled }
        let wasEmpty = head == items.count
        items.append(Message(bytes: bytes, isBinary: binary, notBefore: notBefore))
        queuedBytes += bytes.count
        return .queued(wasEmpty: wasEmpty)
    }

    /// The connection ended: drop what is queued and release waiting producers. Any thread.
    func close() {
        condition.lock(); defer { condition.unlock() }
        closed = true
        items.removeAll()
        head = 0
        sentOfHead = 0
        queuedBytes = 0
        condition.broadcast()
    }

    /// Asks the connection to close with this code once what is queued has been written. Any thread
    /// (the caller then wakes the loop for this connection).
    func requestClose(code: UInt16, reason: String) {
        condition.lock(); defer { condition.unlock() }
        if closeAfterQueue == nil { closeAfterQueue = (code, reason) }
    }

    /// The close asked for with `requestClose`, if any.
    var closeRequest: (code: UInt16, reason: String)? {
        condition.lock(); defer { condition.unlock() }
        return closeAfterQueue
    }

    /// True when nothing is waiting to be written.
    var isEmpty: Bool {
        condition.lock(); defer { condition.unlock() }
        return head == items.count
    }

    /// When the head message may be written, if that is after `now` (nothing of it written yet). lws thread.
    func heldUntil(now: UInt64) -> UInt64? {
        condition.lock(); defer { condition.unlock() }
        guard head < items.count, sentOfHead == 0, items[head].notBefore > now else { return nil }
        return items[head].notBefore
    }

    /// The next fragment, at most `maxBytes`, and where it sits in its message (ask `heldUntil`
    /// first). lws thread.
    func peek(maxBytes: Int) -> (bytes: ArraySlice<UInt8>, isBinary: Bool, isFirst: Bool, isLast: Bool)? {
        condition.lock(); defer { condition.unlock() }
        guard head < items.count else { return nil }
        let item = items[head]
        let end = min(item.bytes.count, sentOfHead + maxBytes)
        return (item.bytes[sentOfHead..<end], item.isBinary, sentOfHead == 0, end == item.bytes.count)
    }

    /// Marks `count` bytes of the head message written. Returns true when that finished the message. lws thread.
    @discardableResult
    func consume(_ count: Int) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard head < items.count else { return false }
        sentOfHead += count
        guard sentOfHead >= items[head].bytes.count else { return false }
        queuedBytes -= items[head].bytes.count
        items[head].bytes = []
        head += 1
        sentOfHead = 0
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return true
    }
}
