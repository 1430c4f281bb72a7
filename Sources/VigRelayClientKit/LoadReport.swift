import Foundation
import VigRelayCore

/// What `vigrelay-client load` measured: per-pair outcomes summed up, histograms merged across
/// workers, the server's cost. As a table for people (`text`, LoadReport+Text.swift) and as JSON
/// for scripts (`json`, fields documented in docs/LOAD.md).
///
/// Pure value, built once at the end of the run.
public struct LoadReport: Sendable {
    /// Totals of one stream kind over every pair.
    public struct StreamTotals: Sendable, Equatable {
        public var stream: String
        public var framesSent = 0
        public var framesReceived = 0
        public var payloadBytesSent = 0
        public var payloadBytesReceived = 0
        public var lost = 0
        public var corrupt = 0
        public var reordered = 0
        public var duplicates = 0
        public var skippedByRelay = 0
        /// Frames after a `skipped` notice that were not a start point (see `LoadStream.Figures`).
        public var badResumes = 0
        /// Pairs whose end-of-stream frame did not arrive.
        public var endOfStreamMissing = 0
        /// Latency of the frames of viewers that read at full speed (the slow viewers' and families' is apart).
        public var latency: LatencySummary

        /// Every frame arrived intact, once and in order (or, at a slow viewer, was skipped by the
        /// relay, which then resumed at a start point).
        public var clean: Bool { lost == 0 && corrupt == 0 && reordered == 0 && duplicates == 0 && badResumes == 0 }
    }

    /// What the slow receivers of one stream got of it: the practitioners of `--slow-viewers` of the
    /// camera, the families of `--slow-families` of the screen.
    public struct SlowViewerTotals: Sendable, Equatable {
        public var viewers = 0
        public var bitsPerSecond: Double
        public var framesSent = 0
        public var framesReceived = 0
        public var payloadBytesReceived = 0
        /// Frames the relay skipped for them (told in `skipped`), over its queue's limit or at their `catch_up`.
        public var skippedByRelay = 0
        public var catchUpsAsked = 0
        /// How late their frames arrived after they were due.
        public var latency: LatencySummary
    }

    let plan: LoadPlan
    let outcomes: [LoadPairOutcome]
    let figures: LoadFigures
    /// From the start of the run to the end of the last pair.
    public let wallSeconds: Double
    /// Ctrl-C ended the run early.
    public let interrupted: Bool
    /// The relay's cost, when its process could be sampled.
    public let server: ServerCost?
    /// What the tester itself used, when measured.
    let client: ClientCPU?
    let startedAt: Date
    /// With `--idle`: session creation and connection times.
    public let idle: LoadIdleFigures?

    init(plan: LoadPlan, outcomes: [LoadPairOutcome], figures: LoadFigures, wallSeconds: Double, interrupted: Bool,
         server: ServerCost?, client: ClientCPU? = nil, startedAt: Date, idle: LoadIdleFigures? = nil) {
        self.plan = plan
        self.outcomes = outcomes.sorted { $0.index < $1.index }
        self.figures = figures
        self.wallSeconds = wallSeconds
        self.interrupted = interrupted
        self.server = server
        self.client = client
        self.startedAt = startedAt
        self.idle = idle
    }

    // MARK: derived figures

    public var pairsCompleted: Int { outcomes.filter { $0.state == .completed }.count }
    public var pairsFailed: Int { outcomes.filter { $0.state == .failed }.count }
    public var pairsCancelled: Int { outcomes.filter { $0.state == .cancelled }.count }
    /// Pairs with no outcome at all: their worker did not stop by the hard deadline and was left behind.
    public var pairsUnaccounted: Int { max(0, plan.pairs - outcomes.count) }
    /// Pairs whose two connections both completed their handshakes.
    public var pairsConnected: Int { outcomes.filter(\.connected).count }

    /// Camera totals, then screen totals if there was a screen stream.
    public var streams: [StreamTotals] {
        var camera = StreamTotals(stream: "camera", latency: LatencySummary(microseconds: figures.cameraLatency))
        for outcome in outcomes { Self.add(outcome.camera, to: &camera) }
        guard plan.screenSizing != nil else { return [camera] }
        var screen = StreamTotals(stream: "screen", latency: LatencySummary(microseconds: figures.screenLatency))
        for outcome in outcomes { if let figures = outcome.screen { Self.add(figures, to: &screen) } }
        return [camera, screen]
    }

    /// The slow viewers' share of the camera, with `--slow-viewers`.
    public var slowViewers: SlowViewerTotals? { slowViewers(of: .camera) }

    /// The slow families' share of the screen, with `--slow-families`.
    public var slowFamilies: SlowViewerTotals? { slowViewers(of: .screen) }

    /// What the slow receivers of `stream` got of it; nil when it has none.
    func slowViewers(of stream: MediaStream) -> SlowViewerTotals? {
        let slow = plan.slowDownloads(of: stream)
        guard slow.count > 0 else { return nil }
        var totals = SlowViewerTotals(bitsPerSecond: slow.bitsPerSecond, latency: LatencySummary(microseconds: figures.slowLatency(stream)))
        for figures in outcomes.compactMap({ stream == .screen ? $0.screen : $0.camera }) where figures.slowViewer {
            totals.viewers += 1
            totals.framesSent += figures.framesSent
            totals.framesReceived += figures.framesReceived
            totals.payloadBytesReceived += figures.payloadBytesReceived
            totals.skippedByRelay += figures.skippedByRelay
            totals.catchUpsAsked += figures.catchUpsAsked
        }
        return totals
    }

    /// Both streams together.
    public var total: StreamTotals {
        var latency = figures.cameraLatency
        latency.add(figures.screenLatency)
        var sum = StreamTotals(stream: "all", latency: LatencySummary(microseconds: latency))
        for s in streams {
            sum.framesSent += s.framesSent
            sum.framesReceived += s.framesReceived
            sum.payloadBytesSent += s.payloadBytesSent
            sum.payloadBytesReceived += s.payloadBytesReceived
            sum.lost += s.lost
            sum.corrupt += s.corrupt
            sum.reordered += s.reordered
            sum.duplicates += s.duplicates
            sum.skippedByRelay += s.skippedByRelay
            sum.badResumes += s.badResumes
            sum.endOfStreamMissing += s.endOfStreamMissing
        }
        return sum
    }

    /// From the first frame queued to the last frame received, over all pairs.
    public var streamSeconds: Double {
        guard figures.firstSendNanoseconds > 0, figures.lastArrivalNanoseconds > figures.firstSendNanoseconds else { return 0 }
        return Double(figures.lastArrivalNanoseconds - figures.firstSendNanoseconds) / 1e9
    }

    /// Megabytes (10^6 bytes) of payload received per second of `streamSeconds`.
    public var throughputMBps: Double {
        streamSeconds > 0 ? Double(total.payloadBytesReceived) / streamSeconds / 1e6 : 0
    }

    /// Recordings the relay reported stopped, and their bytes.
    public var recordings: (stopped: Int, bytes: Int) {
        let done = outcomes.compactMap(\.recording)
        return (done.count, done.reduce(0) { $0 + $1.bytes })
    }

    /// Every pair has an outcome, none failed, at least one completed, and every frame arrived
    /// intact, once and in order.
    public var passed: Bool {
        pairsUnaccounted == 0 && pairsFailed == 0 && pairsCompleted > 0 && streams.allSatisfy(\.clean)
    }

    /// The exit status: 0 passed; 2 when no pair ever connected because connections or TLS failed;
    /// 3 when the relay refused the token; 1 otherwise.
    public var exitCode: Int32 {
        if passed { return 0 }
        let failures = outcomes.compactMap(\.failure)
        if pairsConnected == 0, let first = failures.first {
            if first.source == .relay, first.code == "unauthorized" || first.code == "forbidden" { return 3 }
            if first.code == LoadFailure.ClientCode.connectFailed.rawValue || first.code == LoadFailure.ClientCode.tlsFailed.rawValue { return 2 }
        }
        return 1
    }

    private static func add(_ f: LoadStream.Figures, to totals: inout StreamTotals) {
        totals.framesSent += f.framesSent
        totals.framesReceived += f.framesReceived
        totals.payloadBytesSent += f.payloadBytesSent
        totals.payloadBytesReceived += f.payloadBytesReceived
        totals.lost += f.lost
        totals.corrupt += f.corrupt
        totals.reordered += f.reordered
        totals.duplicates += f.duplicates
        totals.skippedByRelay += f.skippedByRelay
        totals.badResumes += f.badResumes
        if f.endOfStreamSent, !f.endOfStreamReceived { totals.endOfStreamMissing += 1 }
    }

    // MARK: JSON

    /// The report as one JSON object (sorted keys, pretty-printed); fields in docs/LOAD.md.
    public var json: String {
        let data = (try? JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    var jsonObject: [String: Any] {
        let sizing = plan.cameraSizing
        var config: [String: Any] = [
            "pairs": plan.pairs, "bitrate": plan.bitsPerSecond, "fps": plan.framesPerSecond,
            "durationSeconds": plan.durationSeconds, "rampSeconds": plan.rampSeconds, "record": plan.record,
            "screenBitrate": plan.screenBitsPerSecond, "workers": plan.workers, "idle": plan.idle,
            "connectWindow": plan.connectWindow, "slowViewers": plan.slowViewers.count, "slowViewerBitrate": plan.slowViewers.bitsPerSecond,
            "slowFamilies": plan.slowFamilies.count, "slowFamilyBitrate": plan.slowFamilies.bitsPerSecond,
            "keyframeBytes": sizing.keyframeSize, "frameBytes": sizing.deltaSize, "framesPerKeyframe": sizing.framesPerKeyframe,
        ]
        config["frameSize"] = plan.frameSize ?? NSNull()
        let all = total
        var object: [String: Any] = [
            "version": 1,
            "mode": plan.modeName,
            "target": targetDescription,
            "passed": passed,
            "exitCode": Int(exitCode),
            "interrupted": interrupted,
            "startedAt": ISO8601DateFormatter().string(from: startedAt),
            "wallSeconds": Self.round(wallSeconds, 3),
            "config": config,
            "pairs": ["requested": plan.pairs, "connected": pairsConnected, "completed": pairsCompleted,
                      "failed": pairsFailed, "cancelled": pairsCancelled, "unaccounted": pairsUnaccounted],
            "frames": ["sent": all.framesSent, "received": all.framesReceived, "lost": all.lost, "corrupt": all.corrupt,
                       "reordered": all.reordered, "duplicate": all.duplicates, "skippedByRelay": all.skippedByRelay,
                       "badResumes": all.badResumes, "endOfStreamMissing": all.endOfStreamMissing],
            "bytes": ["payloadSent": all.payloadBytesSent, "payloadReceived": all.payloadBytesReceived],
            "streamSeconds": Self.round(streamSeconds, 3),
            "throughputMBps": Self.round(throughputMBps, 3),
            "latencyMs": Self.json(all.latency),
            "latencyFromWriteMs": Self.json(LatencySummary(microseconds: figures.writeLatency)),
            "connectMs": Self.json(LatencySummary(microseconds: figures.connect)),
            "welcomeMs": Self.json(LatencySummary(microseconds: figures.welcome)),
            "createMs": Self.json(LatencySummary(microseconds: figures.create)),
            "sendLagMs": Self.json(LatencySummary(microseconds: figures.sendLag)),
            "streams": streams.map(Self.json),
            "errors": ["relay": figures.relayErrors, "client": figures.clientErrors],
            "sessions": outcomes.map(Self.json),
        ]
        object["recordings"] = plan.record ? ["stopped": recordings.stopped, "bytes": recordings.bytes] as [String: Any] : NSNull()
        object["server"] = server.map(Self.json) ?? NSNull()
        object["client"] = client.map(Self.json) ?? NSNull()
        object["idle"] = idle.map(Self.json) ?? NSNull()
        object["slowViewers"] = slowViewers.map(Self.json) ?? NSNull()
        object["slowFamilies"] = slowFamilies.map(Self.json) ?? NSNull()
        return object
    }

    /// The relay or mirror URL the run went to.
    var targetDescription: String {
        switch plan.target {
        case .relay(let endpoint, _): return endpoint.description
        case .mirror(let target): return target.description
        }
    }

    static func round(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    static func json(_ l: LatencySummary) -> [String: Any] {
        ["p50": round(l.p50, 3), "p90": round(l.p90, 3), "p99": round(l.p99, 3), "p99.9": round(l.p999, 3),
         "max": round(l.max, 3), "count": Int(l.count)]
    }

    static func json(_ s: StreamTotals) -> [String: Any] {
        ["stream": s.stream, "framesSent": s.framesSent, "framesReceived": s.framesReceived,
         "payloadBytesSent": s.payloadBytesSent, "payloadBytesReceived": s.payloadBytesReceived, "lost": s.lost,
         "corrupt": s.corrupt, "reordered": s.reordered, "duplicate": s.duplicates, "skippedByRelay": s.skippedByRelay,
         "badResumes": s.badResumes, "endOfStreamMissing": s.endOfStreamMissing, "latencyMs": json(s.latency)]
    }

    static func json(_ s: SlowViewerTotals) -> [String: Any] {
        ["viewers": s.viewers, "bitrate": s.bitsPerSecond, "framesSent": s.framesSent, "framesReceived": s.framesReceived,
         "payloadBytesReceived": s.payloadBytesReceived, "skippedByRelay": s.skippedByRelay, "catchUpsAsked": s.catchUpsAsked,
         "latencyMs": json(s.latency)]
    }

    static func json(_ f: LoadStream.Figures) -> [String: Any] {
        ["framesSent": f.framesSent, "payloadBytesSent": f.payloadBytesSent, "framesReceived": f.framesReceived,
         "payloadBytesReceived": f.payloadBytesReceived, "lost": f.lost, "corrupt": f.corrupt, "reordered": f.reordered,
         "duplicate": f.duplicates, "skippedByRelay": f.skippedByRelay, "badResumes": f.badResumes, "slowViewer": f.slowViewer,
         "catchUpsAsked": f.catchUpsAsked, "endOfStream": f.endOfStreamReceived]
    }

    static func json(_ o: LoadPairOutcome) -> [String: Any] {
        var object: [String: Any] = ["pair": o.index, "sessionId": o.sessionID ?? NSNull(), "state": o.state.rawValue,
                                     "connected": o.connected, "camera": json(o.camera)]
        if let screen = o.screen { object["screen"] = json(screen) }
        if let failure = o.failure {
            object["error"] = ["source": failure.source.rawValue, "code": failure.code, "message": failure.message]
        }
        if let r = o.recording {
            object["recording"] = ["recordingId": r.recordingID, "bytes": r.bytes, "frames": r.frames, "durationMs": r.durationMs]
        }
        return object
    }

    static func json(_ i: LoadIdleFigures) -> [String: Any] {
        ["sessionsCreated": i.sessionsCreated, "createSeconds": round(i.createSeconds, 3), "connectionsWelcomed": i.connectionsWelcomed,
         "connectionsRequested": i.connectionsRequested, "allWelcomedSeconds": i.allWelcomedSeconds.map { round($0, 3) } ?? NSNull(),
         "rssBeforeSessionsBytes": i.rssBeforeSessionsBytes ?? NSNull()]
    }

    static func json(_ c: ClientCPU) -> [String: Any] {
        ["cpuSeconds": round(c.cpuSeconds, 3), "cpuShare": round(c.cpuShare, 4),
         "lwsThreadBusy": c.threadBusy.map { round($0, 4) }, "lwsThreadWaiting": c.threadWaiting.map { round($0, 4) },
         "steadyLwsThreadBusy": c.steadyThreadBusy.map { $0.map { round($0, 4) } } ?? NSNull(),
         "steadyLwsThreadWaiting": c.steadyThreadWaiting.map { $0.map { round($0, 4) } } ?? NSNull(),
         "saturated": c.saturated]
    }

    static func json(_ s: ServerCost) -> [String: Any] {
        ["pid": s.pid.map { Int($0) } ?? NSNull(), "sampledFrom": s.pid == nil ? "metrics" : "proc",
         "cpuSeconds": round(s.cpuSeconds, 3), "wallSeconds": round(s.wallSeconds, 3),
         "cpuShare": round(s.cpuShare, 4), "cpuSecondsPerGB": s.cpuSecondsPerGB.map { round($0, 3) } ?? NSNull(),
         "cpuSecondsPerSession": s.cpuSecondsPerSession.map { round($0, 4) } ?? NSNull(),
         "rssStartBytes": s.rssStartBytes, "rssEndBytes": s.rssEndBytes, "rssPeakBytes": s.rssPeakBytes,
         "rssPerConnectionBytes": s.rssPerConnectionBytes ?? NSNull(), "processEnded": s.processEnded,
         "steadyCpuShare": s.steadyCPUShare.map { round($0, 4) } ?? NSNull(),
         "steadyWallSeconds": s.steadyWallSeconds.map { round($0, 3) } ?? NSNull(),
         "serviceThreadShare": s.serviceThreadShare.map { round($0, 4) } ?? NSNull(),
         "steadyServiceThreadShare": s.steadyServiceThreadShare.map { round($0, 4) } ?? NSNull()]
    }
}
