import Foundation

/// The process's open-file limit (`RLIMIT_NOFILE`), set for a client that holds thousands of
/// connections before it creates its lws contexts.
///
/// lws sizes each context's fd tables by this limit when a `ClientLoop` is made for many connections
/// (see `ClientLoopOptions.maxConnections`): 16 bytes per possible fd per context. So the soft limit
/// is set to what the run needs (at least 8192), not blindly to the hard limit; and never above
/// 10,000,000, where lws 4.1 gives up on the limit and silently uses 2560. Call from one thread,
/// before any context exists.
public enum FileDescriptorLimit {
    /// lws 4.1 treats a larger limit as unreasonable and falls back to 2560 descriptors.
    static let lwsCeiling = 10_000_000
    /// The least soft limit this sets (a process with a few thousand fds is cheap).
    static let floor = 8192

    /// What `ensure` found and did.
    public struct Outcome: Sendable, Equatable {
        /// Descriptors the caller asked for.
        public var needed: Int
        /// The soft limit before and after.
        public var before: Int
        public var after: Int
        /// The hard limit (the most an unprivileged process may set).
        public var hard: Int
        /// Why setting the limit failed, if it did.
        public var failure: String?

        /// Whether the limit now covers what is needed.
        public var sufficient: Bool { after >= needed }

        /// One line for stderr when something changed or falls short; nil when there is nothing to say.
        public var message: String? {
            if !sufficient {
                let why = failure.map { "setrlimit failed: \($0)" } ?? "the hard limit is \(hard)"
                return "the open-file limit is \(after) (\(why)) but this run needs about \(needed) descriptors; "
                    + "connections past it will fail. Raise it (ulimit -n, or LimitNOFILE= in a systemd unit) or run fewer pairs"
            }
            if after > before { return "raised the open-file limit (RLIMIT_NOFILE) from \(before) to \(after) for \(needed) descriptors" }
            return nil
        }
    }

    /// The soft limit to set for `needed` descriptors given the current limits; nil to leave it.
    static func target(needed: Int, soft: Int, hard: Int) -> Int? {
        let want = max(needed, floor)
        if soft >= want && soft <= lwsCeiling { return nil }
        let target = min(want, hard, lwsCeiling)
        return target == soft ? nil : target
    }

    /// Sets the soft limit so `needed` descriptors fit, within the hard limit.
    public static func ensure(_ needed: Int) -> Outcome {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            let soft = Int(sysconf(Int32(_SC_OPEN_MAX)))
            return Outcome(needed: needed, before: soft, after: soft, hard: soft, failure: String(cString: strerror(errno)))
        }
        // RLIM_INFINITY is all ones, which this reads as Int.max.
        let clamp = { (value: rlim_t) -> Int in value > rlim_t(Int.max) ? Int.max : Int(value) }
        let soft = clamp(limit.rlim_cur)
        let hard = clamp(limit.rlim_max)
        var outcome = Outcome(needed: needed, before: soft, after: soft, hard: hard, failure: nil)
        guard let target = target(needed: needed, soft: soft, hard: hard) else { return outcome }
        limit.rlim_cur = rlim_t(target)
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            outcome.after = target
        } else {
            outcome.failure = String(cString: strerror(errno))
        }
        return outcome
    }
}
