import CLinuxIO
import Foundation
import VigRelayCore

/// A dedicated thread that runs disk jobs in order, so file I/O and fsync never run on the lws thread.
///
/// Jobs are either urgent (`submit`: the writer wakes at once) or batched (`submitBatched`: camera
/// payloads to append). A batched job into an idle writer wakes it, but the writer then waits up to
/// `batchDelay` for more before it runs them, unless an urgent job or `batchBytes` of batched work
/// arrives first. Why: with a wake-up per payload, hundreds of recorded sessions meant thousands of
/// thread switches a second on the writer and the lws thread; a payload reaching the disk 10 ms
/// later costs nothing (the sync cadence is a second).
///
/// Thread-safe: `submit` may be called from any thread (jobs are queued under `condition`).
/// The jobs themselves run on the writer thread only.
public final class DiskWriter: @unchecked Sendable {
    /// How long the writer lets batched jobs gather before running them.
    public static let batchDelay: TimeInterval = 0.010
    /// Batched work (as the submitter counts it) that wakes the writer without waiting.
    public static let batchBytes = 1 << 20

    // `condition` guards the fields below it; `name` and `finished` are immutable.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var urgent = false
    private var batchedBytes = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let name: String

    public init(name: String = "vigrelay-disk") { self.name = name }

    /// Starts the writer thread.
    public func start() {
        let thread = Thread { [self] in
            _ = vr_name_thread(name)  // Foundation's `Thread.name` may not reach the kernel (see there)
            run()
        }
        thread.start()
    }

    /// Queues a job to run on the writer thread after those already queued, and wakes the writer.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        urgent = true
        condition.signal()
        condition.unlock()
    }

    /// Queues a job like `submit`, but lets the writer wait up to `batchDelay` for more jobs before
    /// it runs them. `bytes` counts towards `batchBytes`.
    public func submitBatched(bytes: Int, _ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        batchedBytes += bytes
        if jobs.count == 1 || batchedBytes >= Self.batchBytes { condition.signal() }
        condition.unlock()
    }

    /// Runs every queued job, then ends the thread; returns when it has ended.
    public func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        finished.wait()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if !urgent && !stopping && batchedBytes < Self.batchBytes {
                // Only batched jobs: let more gather (an urgent job, a full batch or stop cuts it short).
                let until = Date(timeIntervalSinceNow: Self.batchDelay)
                while !urgent && !stopping && batchedBytes < Self.batchBytes && condition.wait(until: until) {}
            }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            urgent = false
            batchedBytes = 0
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { break }
            for job in batch { job() }
        }
        OpenSSLThread.stop()  // before `stop` returns: the process may exit right after
        finished.signal()
    }
}
