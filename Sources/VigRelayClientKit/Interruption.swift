import Foundation
import Synchronization

/// Ctrl-C / SIGTERM as a flag that senders and waits check, so a command can still end its streams
/// and say `bye` instead of dying mid-frame.
///
/// Thread-safe: an atomic set from the signal handler (async-signal-safe) and read anywhere.
public enum Interruption {
    private static let flag = Atomic<Bool>(false)

    /// Whether SIGINT or SIGTERM arrived since `install`.
    public static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Catches SIGINT and SIGTERM; a second signal ends the process at once.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            if Interruption.flag.exchange(true, ordering: .relaxed) { _exit(128 + signal) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    /// Waits for a latch until the deadline, giving up early when interrupted.
    static func wait<T>(for latch: Latch<T>, until deadline: Date) -> T? {
        while true {
            let slice = min(deadline, Date().addingTimeInterval(0.1))
            if let value = latch.wait(until: slice) { return value }
            if requested || Date() >= deadline { return nil }
        }
    }
}
