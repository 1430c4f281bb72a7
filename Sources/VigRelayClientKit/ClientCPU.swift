import Foundation

/// CPU the load tester itself used during the run: the whole process and each lws client thread.
/// A thread that wanted a CPU nearly all the time, on one or waiting in the run queue for one,
/// means frames waited for the client, not for the relay, so the latency says more about the tester
/// than the relay (one lws client thread parses about 150 MB/s and does every TLS handshake of its
/// connections; on a machine shared with the relay it also waits for the relay's threads).
///
/// Pure value built from `Reading`s of `/proc/self/stat`, `/proc/self/task/TID/stat` and
/// `/proc/self/task/TID/schedstat`: at the start and end of the run (ramp and wind-down included),
/// and at both ends of its steady part.
struct ClientCPU: Sendable, Equatable {
    /// An lws thread on a CPU or waiting for one this share of the time or more counts as saturated.
    static let saturatedShare = 0.9

    /// CPU seconds of the process and of each thread, at one instant.
    struct Reading: Sendable, Equatable {
        var processSeconds: Double
        var threadSeconds: [Double]
        /// Per thread, the time it has been runnable but waiting for a CPU (the second field of
        /// `/proc/self/task/TID/schedstat`, in nanoseconds there).
        var threadWaitSeconds: [Double]
        var atNanoseconds: UInt64

        /// Reads this process and the given threads (a thread that cannot be read counts 0).
        static func now(threads: [Int32]) -> Reading {
            func seconds(_ path: String) -> Double {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), let t = ServerSampler.cpuTicks(stat: text) else { return 0 }
                return Double(t) / ServerSampler.ticksPerSecond
            }
            func waitSeconds(_ path: String) -> Double {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
                let fields = text.split(separator: " ")
                guard fields.count >= 2, let nanoseconds = UInt64(fields[1]) else { return 0 }
                return Double(nanoseconds) / 1e9
            }
            return Reading(processSeconds: seconds("/proc/self/stat"),
                           threadSeconds: threads.map { seconds("/proc/self/task/\($0)/stat") },
                           threadWaitSeconds: threads.map { waitSeconds("/proc/self/task/\($0)/schedstat") },
                           atNanoseconds: MonotonicClock.nanoseconds())
        }
    }

    /// User + system CPU seconds of the whole process between the readings.
    var cpuSeconds: Double
    var wallSeconds: Double
    /// Per lws client thread, the share of the wall time it was on a CPU.
    var threadBusy: [Double]
    /// Per lws client thread, the share of the wall time it was ready to run but waiting for a CPU
    /// (the machine was short of CPU: the relay or other work had the cores).
    var threadWaiting: [Double]
    /// The same two shares over the steady part of the run alone (every pair streaming, or the idle
    /// hold), where a shortage is not diluted by the ramp and the wind-down; nil if it had none.
    var steadyThreadBusy: [Double]?
    var steadyThreadWaiting: [Double]?

    init(from start: Reading, to end: Reading, steady: (from: Reading, to: Reading)? = nil) {
        wallSeconds = Double(end.atNanoseconds &- start.atNanoseconds) / 1e9
        cpuSeconds = max(0, end.processSeconds - start.processSeconds)
        (threadBusy, threadWaiting) = Self.shares(from: start, to: end)
        if let steady { (steadyThreadBusy, steadyThreadWaiting) = Self.shares(from: steady.from, to: steady.to) }
    }

    /// Per thread, the shares of the wall time between two readings on a CPU and waiting for one.
    private static func shares(from start: Reading, to end: Reading) -> (busy: [Double], waiting: [Double]) {
        let wall = Double(end.atNanoseconds &- start.atNanoseconds) / 1e9
        func share(_ a: [Double], _ b: [Double]) -> [Double] { zip(a, b).map { wall > 0 ? max(0, $1 - $0) / wall : 0 } }
        return (share(start.threadSeconds, end.threadSeconds), share(start.threadWaitSeconds, end.threadWaitSeconds))
    }

    /// `cpuSeconds / wallSeconds`: 1.0 is one core.
    var cpuShare: Double { wallSeconds > 0 ? cpuSeconds / wallSeconds : 0 }
    /// Whether an lws client thread (nearly) always wanted a CPU, on one or waiting for one: during the
    /// steady part if there was one, else over the whole run.
    var saturated: Bool {
        zip(steadyThreadBusy ?? threadBusy, steadyThreadWaiting ?? threadWaiting).contains { $0 + $1 >= Self.saturatedShare }
    }
}
