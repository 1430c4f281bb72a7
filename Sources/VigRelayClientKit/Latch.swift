import Foundation

/// A value set once by one thread and awaited, with a deadline, by others.
///
/// Thread-safe: `condition` guards `value`. Used to hand results (welcome, HTTP reply, end of a
/// connection) from the lws thread to the command's thread.
final class Latch<Value: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var value: Value?

    /// Sets the value unless one is already set; returns whether this call set it.
    @discardableResult
    func fulfil(_ newValue: Value) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard value == nil else { return false }
        value = newValue
        condition.broadcast()
        return true
    }

    /// The value if set, without waiting.
    var current: Value? {
        condition.lock(); defer { condition.unlock() }
        return value
    }

    /// Waits until the value is set or the deadline passes (nil).
    func wait(until deadline: Date) -> Value? {
        condition.lock(); defer { condition.unlock() }
        while value == nil {
            if !condition.waitBounded(until: deadline) { break }
        }
        return value
    }
}
