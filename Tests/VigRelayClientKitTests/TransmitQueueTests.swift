import Testing
@testable import VigRelayClientKit

/// `TransmitQueue`'s held messages: `load` hands paced frames over before they are due.
struct TransmitQueueTests {
    @Test func aHeldMessageWaitsForItsTimeAndWhatIsQueuedBehindItWaitsToo() throws {
        let queue = TransmitQueue(limitBytes: 1 << 20)
        #expect(queue.push([1, 2, 3], binary: true, waitUntil: nil, notBefore: 1_000) == .queued(wasEmpty: true))
        #expect(queue.pushIfRoom([4], binary: true) == .queued(wasEmpty: false))
        #expect(queue.heldUntil(now: 999) == 1_000)
        #expect(queue.heldUntil(now: 1_000) == nil, "due at 1,000")
        let first = try #require(queue.peek(maxBytes: 2))
        #expect(Array(first.bytes) == [1, 2] && first.isFirst && !first.isLast)
        queue.consume(2)
        #expect(queue.heldUntil(now: 0) == nil, "a message begun is never held again")
        queue.consume(1)
        #expect(queue.heldUntil(now: 0) == nil, "the message behind it was not held")
        #expect(Array(try #require(queue.peek(maxBytes: 10)).bytes) == [4])
    }

    @Test func anEmptyQueueHoldsNothing() {
        let queue = TransmitQueue(limitBytes: 10)
        #expect(queue.heldUntil(now: 0) == nil && queue.isEmpty)
        #expect(queue.pushIfRoom(Array(repeating: 0, count: 10), binary: true, notBefore: 50) == .queued(wasEmpty: true))
        #expect(queue.pushIfRoom([1], binary: true, notBefore: 60) == .stalled, "full: held bytes count against the limit")
        #expect(queue.heldUntil(now: 49) == 50)
    }
}
