import Foundation

/// A dedicated thread that runs disk jobs in order, so file I/O and fsync never run on the lws thread.
///
/// Thread-safe: `submit` may be called from any thread (jobs are queued under `condition`).
/// The jobs themselves run on the writer thread only.
public final class DiskWriter: @unchecked Sendable {
    // `condition` guards `jobs` and `stopping`; everything else is immutable.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let name: String

    public init(name: String = "vigrelay-disk") { self.name = name }

    /// Starts the writer thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Queues a job to run on the writer thread after those already queued.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
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
            let batch = jobs
            jobs.removeAll()
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { break }
            for job in batch { job() }
        }
        finished.signal()
    }
}
