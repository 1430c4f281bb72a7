import Foundation

/// Creates the sessions of `load --idle` before any connection opens, with at most `inFlight`
/// `POST /v1/sessions` out at once over the workers' loops, so the time to connect every side is
/// measured apart from the time the relay takes to create sessions (it writes and fsyncs each one
/// on its disk thread, one after another).
///
/// The first failure stops the batch: the requests still out are read, none is started, and the
/// pairs left without a session fail with `create_failed` naming it. That bounds the batch by
/// `inFlight` requests' answer time after the first trouble instead of one per pair.
///
/// Thread: `run` blocks the calling thread (the command's) until every request it started is
/// answered or given up; the exchanges' `onFinish` run on lws threads and only append to `finished`.
final class SessionBatch: @unchecked Sendable {
    /// What the batch came to.
    struct Outcome {
        /// Per pair, in order: its session, or why there is none; nil when Ctrl-C came first.
        var sessions: [Result<CreatedSession, LoadFailure>?]
        /// From the first request to the last answer.
        var seconds: Double
        /// Sessions created.
        var created: Int { sessions.filter { if case .success = $0 { return true } else { return false } }.count }
    }

    private let count: Int
    private let loops: [ClientLoop]
    private let token: String
    private let inFlight: Int
    private let answerNanoseconds: UInt64
    private let stats: [LoadStats]

    private let condition = NSCondition()
    // Guarded by `condition`: requests whose exchange finished (index, monotonic ns), not read yet.
    private var finished: [(index: Int, at: UInt64)] = []

    /// A batch of `count` sessions spread over `loops`; the creation time of session i (and its
    /// failure) goes to `stats[i % stats.count]`.
    init(count: Int, loops: [ClientLoop], token: String, inFlight: Int, answerSeconds: Double, stats: [LoadStats]) {
        self.count = count
        self.loops = loops
        self.token = token
        self.inFlight = max(1, inFlight)
        self.answerNanoseconds = UInt64(answerSeconds * 1e9)
        self.stats = stats
    }

    /// Creates the sessions; failures are counted in `stats` as they are found. Calling thread.
    func run() -> Outcome {
        var results = [Result<CreatedSession, LoadFailure>?](repeating: nil, count: count)
        var out: [Int: (exchange: HTTPSExchange, started: UInt64)] = [:]
        var next = 0
        var firstFailure: (index: Int, failure: LoadFailure)?
        let t0 = MonotonicClock.nanoseconds()
        var lastAnswer = t0
        while true {
            while next < count, out.count < inFlight, firstFailure == nil, !Interruption.requested {
                let index = next
                let loop = loops[index % loops.count]
                let exchange = SessionCreator.request(loop: loop, token: token, labels: SessionLabels(caseRef: "load-test"))
                exchange.onFinish = { [self] in noteFinished(index) }  // no cycle: the batch does not keep exchanges past `run`
                out[index] = (exchange, MonotonicClock.nanoseconds())
                loop.open(exchange)
                next += 1
            }
            if out.isEmpty { break }

            let oldest = out.values.map(\.started).min() ?? t0
            condition.lock()
            let before = MonotonicClock.nanoseconds()
            let wake = min(oldest + answerNanoseconds, before + 200_000_000)  // a request's deadline, or Ctrl-C checked
            if finished.isEmpty, wake > before {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Double(wake - before) / 1e9))
            }
            let answered = finished
            finished.removeAll(keepingCapacity: true)
            condition.unlock()

            let now = MonotonicClock.nanoseconds()
            for (index, at) in answered {
                guard let (exchange, started) = out.removeValue(forKey: index), let result = exchange.result.current else { continue }
                lastAnswer = max(lastAnswer, at)
                let outcome = SessionCreator.loadOutcome(result, waitedNanoseconds: at - min(at, started))
                results[index] = outcome
                switch outcome {
                case .success:
                    stats[index % stats.count].timed(\.create, micros: (at - min(at, started)) / 1000)
                case .failure(let failure):
                    stats[index % stats.count].count(failure)
                    if firstFailure == nil { firstFailure = (index, failure) }
                }
            }
            for (index, entry) in out where now - min(now, entry.started) >= answerNanoseconds {
                out[index] = nil
                let failure = LoadFailure.client(.timeout, "no answer to POST /v1/sessions within \(answerNanoseconds / 1_000_000_000) s")
                results[index] = .failure(failure)
                stats[index % stats.count].count(failure)
                if firstFailure == nil { firstFailure = (index, failure) }
            }
        }
        if let firstFailure {
            for index in next..<count {
                let failure = LoadFailure.client(.createFailed, "not attempted: creating sessions stopped at the first failure "
                                                 + "(pair \(firstFailure.index): \(firstFailure.failure))")
                results[index] = .failure(failure)
                stats[index % stats.count].count(failure)
            }
        }
        return Outcome(sessions: results, seconds: Double(lastAnswer - t0) / 1e9)
    }

    /// A request's exchange finished. lws thread.
    private func noteFinished(_ index: Int) {
        let now = MonotonicClock.nanoseconds()
        condition.lock()
        finished.append((index, now))
        condition.signal()
        condition.unlock()
    }
}
