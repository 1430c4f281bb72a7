import Foundation

extension NSCondition {
    /// `wait(until:)` that also accepts far-future deadlines such as `.distantFuture` (which trap in
    /// corelibs Foundation when converted to a timespec). Returns false when the deadline passed.
    func waitBounded(until deadline: Date) -> Bool {
        if deadline.timeIntervalSinceNow > 86_400 * 365 {
            wait()
            return true
        }
        return wait(until: deadline)
    }
}
