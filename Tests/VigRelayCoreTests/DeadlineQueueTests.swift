import Testing
import VigRelayCore

struct DeadlineQueueTests {
    @Test func entriesComeDueInOrderAfterTheTimeout() {
        var q = DeadlineQueue(timeoutMicros: 5_000)
        let first = q.add(1, now: 0), second = q.add(2, now: 1_000), third = q.add(3, now: 1_000)
        #expect(first, "the first entry starts the timer")
        #expect(!second && !third)
        #expect(q.nextDue(now: 0) == 5_000)
        let none = q.expire(now: 4_999), one = q.expire(now: 5_000)
        #expect(none.isEmpty)
        #expect(one == [1])
        #expect(q.nextDue(now: 5_000) == 1_000)
        let two = q.expire(now: 7_000)
        #expect(two == [2, 3])
        #expect(q.nextDue(now: 7_000) == nil && q.count == 0)
        let again = q.add(4, now: 8_000)
        #expect(again, "empty again: the next entry starts the timer again")
        #expect(q.nextDue(now: 20_000) == 0, "overdue")
    }

    @Test func staysSmallUnderAStreamOfConnections() {
        var q = DeadlineQueue(timeoutMicros: 100)
        var expired: [ConnectionID] = []
        for i in 0..<10_000 {
            q.add(ConnectionID(i), now: Int64(i))
            expired += q.expire(now: Int64(i))
            #expect(q.count <= 101)
        }
        expired += q.expire(now: 1 << 40)
        #expect(expired == (0..<10_000).map { ConnectionID($0) }, "each once, in order")
    }
}
