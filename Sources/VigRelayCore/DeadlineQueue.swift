/// Connections waiting for something by a deadline (the hello), oldest first.
///
/// Every entry gets the same timeout, so appending keeps the queue in deadline order: adding and
/// expiring cost O(1) each, and one timer for the oldest entry replaces a timer per connection. (lws
/// keeps its timers in one sorted list; with a timer per connection every new connection walked it,
/// 39% of the server's time while 5,000 connections came up.) Entries are not removed when the
/// connection says hello in time: the caller ignores those when they come due. Owned by the lws
/// thread, inside `ServiceLoop`.
public struct DeadlineQueue: Sendable {
    /// How long after being added an entry is due.
    public let timeoutMicros: Int64
    private var entries: [(id: ConnectionID, due: Int64)] = []
    private var head = 0

    public init(timeoutMicros: Int64) { self.timeoutMicros = timeoutMicros }

    public var count: Int { entries.count - head }

    /// Adds a connection due `timeoutMicros` after `now` (microseconds on a monotonic clock).
    /// Returns true when it is the only entry: the caller's timer is not running and must be started.
    @discardableResult
    public mutating func add(_ id: ConnectionID, now: Int64) -> Bool {
        entries.append((id, now + timeoutMicros))
        return count == 1
    }

    /// Removes and returns the connections due at `now`, oldest first.
    public mutating func expire(now: Int64) -> [ConnectionID] {
        var due: [ConnectionID] = []
        while head < entries.count, entries[head].due <= now {
            due.append(entries[head].id)
            head += 1
        }
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.capacity <= 1024)
            head = 0
        } else if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return due
    }

    /// Microseconds from `now` until the oldest entry is due (0 if overdue), or nil when empty.
    public func nextDue(now: Int64) -> Int64? {
        head < entries.count ? max(0, entries[head].due - now) : nil
    }
}
