import Foundation
import VigRelayCore

/// `vigrelay-client load`: many practitioner/family pairs at once against a relay, every frame
/// verified, latency and handshake times measured, the relay's CPU and memory sampled.
///
/// Threads: the caller's thread sets up, shows progress about once a second and builds the report;
/// `workers` worker threads (`LoadWorker`) drive the pairs, each with its own lws client context
/// and thread (`ClientLoop`), because one lws client thread parses received bytes one at a time and
/// tops out around 150 MB/s. With `--idle` every session is created first (`SessionBatch`), and
/// the run's clock starts when the connections do.
public struct LoadRun: Sendable {
    public var plan: LoadPlan

    public init(plan: LoadPlan) { self.plan = plan }

    /// Runs the load and returns the report (check `passed` and `exitCode`). Throws before any pair
    /// starts when the relay cannot be reached, refuses the token, or an option is wrong.
    public func run(console: LoadConsole) throws(ClientError) -> LoadReport {
        guard plan.pairs > 0, plan.workers > 0 else { throw .usage("--pairs and --workers must be at least 1") }
        let limit = FileDescriptorLimit.ensure(plan.descriptorsNeeded)
        if let message = limit.message { console.log("vigrelay-client: " + message) }
        let endpoint = plan.target.endpoint
        let perLoop = 3 * ((plan.pairs + plan.workers - 1) / plan.workers) + 16
        var loops: [ClientLoop] = []
        defer { for loop in loops { loop.stop() } }
        for index in 0..<plan.workers {
            loops.append(try ClientLoop(endpoint: endpoint, trust: plan.trust,
                                        options: ClientLoopOptions(threadName: "lws-load-\(index)", maxConnections: perLoop)))
        }
        let sampler = try makeSampler(loop: loops[0], console: console)

        // One session first, synchronously: an unreachable relay, a bad certificate or a refused
        // token ends the command at once with exit status 2 or 3, before any load.
        // The connect window is shared out between the workers (each gates its own pairs), to the
        // window in all: the first `connectWindow % workers` get one more.
        let workers = loops.enumerated().map {
            LoadWorker(index: $0.offset, loop: $0.element, connectWindow: plan.connectWindow(ofWorker: $0.offset),
                       wakeSlackNanoseconds: plan.driverWakeSlackNanoseconds)
        }
        let rssBeforeSessions = sampler?.reading()?.rssBytes
        var firstSession: CreatedSession?
        let createStarted = MonotonicClock.nanoseconds()
        if case .relay(_, let token) = plan.target {
            firstSession = try SessionCreator.create(loop: loops[0], token: token, labels: SessionLabels(caseRef: "load-test"))
            workers[0].stats.timed(\.create, micros: (MonotonicClock.nanoseconds() - createStarted) / 1000)
        }
        // --idle: the other sessions too, before any connection starts (pair i + 1 is batch session i,
        // its figures on pair i + 1's worker).
        var prepared: [Result<CreatedSession, LoadFailure>?] = []
        var createSeconds = 0.0
        if plan.idle, case .relay(_, let token) = plan.target {
            console.log("load: creating \(plan.pairs) sessions before connecting (at most \(plan.createsInFlight) requests at once)")
            let batch = SessionBatch(count: plan.pairs - 1, loops: loops, token: token, inFlight: plan.createsInFlight,
                                     answerSeconds: plan.answerSeconds,
                                     stats: workers.indices.map { workers[($0 + 1) % workers.count].stats }).run()
            prepared = batch.sessions
            createSeconds = Double(MonotonicClock.nanoseconds() - createStarted) / 1e9
            console.log(String(format: "load: %d sessions created in %.2f s; connecting", batch.created + 1, createSeconds))
        }
        let startedAt = Date()
        let t0 = MonotonicClock.nanoseconds()
        sampler?.sample()
        let lwsThreads = loops.map(\.threadID)
        let clientStart = ClientCPU.Reading.now(threads: lwsThreads)
        let runID = String(UInt32.random(in: .min ... .max), radix: 16)
        let streamEnd = t0 + nanoseconds(plan.streamEndSeconds)
        let hold = plan.idle ? IdleHold(t0: t0, plan: plan) : nil
        for index in 0..<plan.pairs {
            let worker = workers[index % workers.count]
            let practitionerLoop = loops[(index % workers.count + 1) % loops.count]
            let slot = worker.nextSlot
            let poke: @Sendable () -> Void = { [weak worker] in worker?.poke(slot) }  // the worker owns the pair
            let startAt = t0 + nanoseconds(plan.startOffsetSeconds(pair: index))
            switch plan.target {
            case .relay(_, let token):
                let made = index > 0 && index <= prepared.count ? prepared[index - 1] : nil
                worker.add(LoadPair(index: index, plan: plan, token: token, familyLoop: worker.loop, practitionerLoop: practitionerLoop,
                                    stats: worker.stats, startAt: startAt, streamEnd: streamEnd,
                                    created: index == 0 ? firstSession : try? made?.get(),
                                    createFailure: made.flatMap { if case .failure(let failure) = $0 { failure } else { nil } },
                                    gate: worker.gate, hold: hold, poke: poke))
            case .mirror(let target):
                worker.add(MirrorPair(index: index, pairID: "\(runID)-\(index)", plan: plan, target: target, familyLoop: worker.loop,
                                      practitionerLoop: practitionerLoop, stats: worker.stats, startAt: startAt,
                                      streamEnd: streamEnd, poke: poke))
            }
        }
        for worker in workers { worker.start() }

        var steady = SteadyWindow(sampler: sampler, lwsThreads: lwsThreads)
        let interrupted = watch(workers, from: t0, hold: hold, sampler: sampler, console: console, steady: &steady)
        console.finish()
        sampler?.sample()
        let client = ClientCPU(from: clientStart, to: .now(threads: lwsThreads), steady: steady.clientReadings)
        let outcomes = workers.flatMap { $0.finished.current ?? [] }
        let figures = LoadFigures.merged(workers.map { $0.stats.snapshot() })
        let wall = Double(MonotonicClock.nanoseconds() - t0) / 1e9
        var cost: ServerCost?
        if let sampler, let start = sampler.start, let end = sampler.last {
            let connected = outcomes.filter(\.connected).count
            let received = outcomes.reduce(0) { $0 + $1.camera.payloadBytesReceived + ($1.screen?.payloadBytesReceived ?? 0) }
            cost = ServerCost(pid: sampler.pid, start: start, end: end, peakRSSBytes: sampler.peakRSSBytes,
                              payloadBytesRelayed: received, sessions: connected, connections: 2 * connected,
                              processEnded: sampler.vanished, steady: steady.readings)
        }
        let idle = plan.idle ? LoadIdleFigures(sessionsCreated: prepared.compactMap { try? $0?.get() }.count + (firstSession == nil ? 0 : 1),
                                               createSeconds: createSeconds, pairs: plan.pairs, connectStart: t0, figures: figures,
                                               rssBeforeSessionsBytes: rssBeforeSessions) : nil
        return LoadReport(plan: plan, outcomes: outcomes, figures: figures, wallSeconds: wall, interrupted: interrupted,
                          server: cost, client: client, startedAt: startedAt, idle: idle)
    }

    /// The relay's and the tester's readings around the steady part of the run: from when every pair
    /// streams after the ramp (or halfway through the duration if some never do) to the end of the
    /// streams; with `--idle`, the hold (every pair connected, for the duration).
    struct SteadyWindow {
        let sampler: ServerSampler?
        let lwsThreads: [Int32]
        private var from: ServerSampler.Sample?
        private var to: ServerSampler.Sample?
        private var clientFrom: ClientCPU.Reading?
        private var clientTo: ClientCPU.Reading?

        init(sampler: ServerSampler?, lwsThreads: [Int32]) {
            self.sampler = sampler
            self.lwsThreads = lwsThreads
        }

        var started: Bool { clientFrom != nil }
        var ended: Bool { clientTo != nil }
        mutating func begin() {
            from = sampler?.sample()
            clientFrom = .now(threads: lwsThreads)
        }
        mutating func end() {
            to = sampler?.sample()
            clientTo = .now(threads: lwsThreads)
        }

        var readings: (from: ServerSampler.Sample, to: ServerSampler.Sample)? {
            guard let from, let to else { return nil }
            return (from, to)
        }
        var clientReadings: (from: ClientCPU.Reading, to: ClientCPU.Reading)? {
            guard let clientFrom, let clientTo else { return nil }
            return (clientFrom, clientTo)
        }
    }

    /// Waits for every worker, showing progress about once a second; Ctrl-C winds the pairs down
    /// (at most 15 s more), and the hard deadline (ramp + duration + grace; with `--idle` also the
    /// connect limit) aborts what is left. Starts the idle hold once every pair has connected. Reads
    /// the relay and the tester at both ends of the steady window. Returns whether Ctrl-C came.
    private func watch(_ workers: [LoadWorker], from t0: UInt64, hold: IdleHold?, sampler: ServerSampler?, console: LoadConsole,
                       steady: inout SteadyWindow) -> Bool {
        let rampEnd = t0 + nanoseconds(plan.rampSeconds)
        let latestSteadyStart = rampEnd + nanoseconds(plan.durationSeconds / 2)
        var streamEnd = t0 + nanoseconds(plan.streamEndSeconds + (hold != nil ? plan.idleConnectLimitSeconds : 0))
        var hardDeadline = streamEnd + nanoseconds(plan.graceSeconds)
        var interrupted = false
        var aborted = false
        var lastTick = t0
        var lastBytes = 0
        while let waiting = workers.first(where: { $0.finished.current == nil }) {
            let before = MonotonicClock.nanoseconds()
            let untilStreamEnd = streamEnd > before ? Double(streamEnd - before) / 1e9 : 0.2  // read the relay right at the end
            _ = waiting.finished.wait(until: Date().addingTimeInterval(min(0.2, untilStreamEnd)))
            let now = MonotonicClock.nanoseconds()
            if Interruption.requested, !interrupted {
                interrupted = true
                console.log("load: Ctrl-C: ending every stream now and closing the pairs (Ctrl-C again quits without a report)")
                for worker in workers { worker.windDown() }
                hardDeadline = min(hardDeadline, now + 15_000_000_000)
            }
            if let hold, !interrupted, let end = hold.releaseIfDue(now: now, settled: workers.reduce(0) { $0 + $1.stats.pairsSettled }) {
                streamEnd = end
                hardDeadline = end + nanoseconds(plan.graceSeconds)
                steady.begin()
            }
            if !interrupted {
                let streaming = workers.reduce(0) { $0 + $1.stats.pairsStreaming }
                if hold == nil, !steady.started, now >= rampEnd, now < streamEnd, now >= latestSteadyStart || streaming >= plan.pairs {
                    steady.begin()
                } else if steady.started, !steady.ended, now >= streamEnd || streaming == 0 {
                    steady.end()  // streams end with their last frame, a little before streamEnd
                }
            }
            if now >= hardDeadline {
                if aborted { break }  // a driver that does not stop within 10 s is left behind
                aborted = true
                console.log("load: the hard deadline passed; failing the pairs that have not finished")
                for worker in workers { worker.abort() }
                hardDeadline = now + 10_000_000_000
            }
            if now - lastTick >= 1_000_000_000 {
                sampler?.sample()
                let figures = LoadFigures.merged(workers.map { $0.stats.snapshot() })
                let rate = Double(figures.payloadBytesReceived - lastBytes) / (Double(now - lastTick) / 1e9) / 1e6
                console.progress(LoadConsole.line(elapsedSeconds: Double(now - t0) / 1e9, streaming: figures.pairsStreaming,
                                                  pairs: plan.pairs, megabytesPerSecond: rate,
                                                  p99Milliseconds: LatencySummary(microseconds: figures.cameraLatency).p99,
                                                  errors: figures.errorCount, activity: plan.idle ? "connected" : "streaming"))
                lastTick = now
                lastBytes = figures.payloadBytesReceived
            }
        }
        if !interrupted, steady.started, !steady.ended { steady.end() }
        return interrupted
    }

    /// The relay's process to sample: its `GET /metrics` with `--metrics-token` (read over `loop`),
    /// `--server-pid`, or the local process listening on the relay's port.
    private func makeSampler(loop: ClientLoop, console: LoadConsole) throws(ClientError) -> ServerSampler? {
        if let token = plan.serverMetricsToken {
            let sampler = try ServerSampler(metricsFrom: loop, token: token)
            console.log("load: sampling the relay's CPU and memory from its GET /metrics")
            return sampler
        }
        if let pid = plan.serverPID {
            guard let sampler = ServerSampler(pid: pid) else {
                throw .usage("--server-pid \(pid): cannot read /proc/\(pid)/stat and /proc/\(pid)/status (no such process, or another user's)")
            }
            return sampler
        }
        let endpoint = plan.target.endpoint
        guard ["localhost", "::1"].contains(endpoint.host) || endpoint.host.hasPrefix("127."),
              let pid = ListeningProcess.pid(port: endpoint.port), let sampler = ServerSampler(pid: pid)
        else { return nil }
        console.log("load: sampling CPU and memory of pid \(pid), which listens on port \(endpoint.port) (--server-pid to choose)")
        return sampler
    }

    private func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
}
