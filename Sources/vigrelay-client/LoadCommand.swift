import ArgumentParser
import Foundation
import VigRelayClientKit
import VigRelayCore

/// `load`: many practitioner/family pairs at once, every frame verified, the relay's cost measured.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test a relay: N practitioner/family pairs streaming camera frames at once, every frame verified.",
        discussion: """
            Each pair creates a session, joins both sides, the family consents, the practitioner records (with \
            --record), and the family streams synthetic camera frames (a keyframe a second, smaller frames between) \
            at --bitrate and --fps until --ramp + --duration has passed; then end of stream, recording stopped, bye. \
            Pairs start spread over --ramp. Prints a progress line on stderr about once a second and a table on \
            stdout at the end (JSON with --report, fields in docs/LOAD.md). With --server-pid (or a relay listening \
            on a local port) also reports the relay's CPU and memory, and with --metrics-token reads them from the \
            relay's GET /metrics wherever it runs. Ctrl-C ends the streams early and still reports.

            --idle holds idle connections instead: every session is created first, then both sides of every pair \
            join (hello, welcome), send nothing for --duration after the ramp, and say bye; the report says how long \
            creating the sessions took, how long until every connection had its welcome, and the relay's RSS per \
            connection.

            --mode mirror --url wss://HOST:PORT/PATH measures another relay with the same frames: both sockets of \
            pair N connect to the URL with pair=RUN-N&side=family (or side=practitioner) added to its query, no \
            subprotocol, and the relay must forward what one sends to the other (docs/LOAD.md).

            --slow-viewers N makes N of the pairs' practitioners (spread over the pairs) take the camera no faster \
            than a download of --slow-viewer-rate, and ask the relay to catch them up when frames arrive 3 s late, as \
            the web pages do: what practitioners on poor connections cost the relay, and whether the other pairs \
            notice. The frames the relay skips for them (it says how many) are not lost; after a skip the next frame \
            must be a keyframe. Their lateness is reported apart from the latency of the others. --slow-families N \
            does the same to N families taking the practitioner's screen (--screen-bitrate) at --slow-family-rate.

            Exit status: 0 every frame arrived intact and in order and no pair failed; 1 a frame was lost, corrupt or \
            out of order, or a pair failed; 2 the relay cannot be reached (TLS included); 3 token refused; 64 usage.
            """
    )

    @Option(help: "The relay, https://HOST:PORT (vigrelay mode).")
    var server: String?

    @Option(help: ArgumentHelp("Practitioner token (vigrelay mode; 'vigrelay token practitioner')." + SecretArgument.note), transform: SecretArgument.read)
    var token: String?

    @Option(name: .customLong("ca"), help: ArgumentHelp("Trust the CA certificate in FILE (PEM), e.g. certs/dev/ca.crt.", valueName: "FILE"))
    var caFile: String?

    @Flag(help: "Accept any server certificate (throwaway tests only).")
    var insecure = false

    @Flag(help: "Print libwebsockets' own log on stderr.")
    var verbose = false

    @Option(help: "vigrelay (the default) or mirror (another relay at --url, see below).")
    var mode = "vigrelay"

    @Option(help: ArgumentHelp("With --mode mirror: the relay's WebSocket URL, wss://HOST:PORT/PATH.", valueName: "URL"))
    var url: String?

    @Option(help: "Practitioner/family pairs (one session each).")
    var pairs = 10

    @Option(help: "Camera bits per second per pair, e.g. 2.5M; 0 streams as fast as each pair's 4 MiB window allows.")
    var bitrate = "2.5M"

    @Option(help: "Frames per second (default 10: a browser's MediaRecorder with a 100 ms timeslice); a keyframe every second.")
    var fps: Double?

    @Option(help: "Every camera frame this many payload bytes instead of camera-like sizes (e.g. 65536 with --bitrate 0 for throughput); with a bitrate, the frame rate is the bitrate over the frame's bits.")
    var frameSize: Int?

    @Option(help: "How long all pairs stream together after the ramp, e.g. 60s or 5m.")
    var duration = "60s"

    @Option(help: "Start the pairs spread evenly over this long, e.g. 10s (0s: all at once).")
    var ramp = "0s"

    @Flag(help: "The practitioner records every session's camera on the relay (the family consents in every pair anyway).")
    var record = false

    @Flag(help: "Idle connections: create every session first, then join both sides, send no media, hold for --duration, bye.")
    var idle = false

    @Option(help: "At most N pairs connecting (TCP, TLS, upgrade, hello, welcome) at once over all workers; 0: no limit.")
    var connectWindow = 0

    @Option(help: "Also stream the practitioner's screen to the family at this bitrate, e.g. 800k.")
    var screenBitrate: String?

    @Option(help: "This many pairs' practitioners read the camera as over a slow download (--slow-viewer-rate) and ask to catch up as the web pages do; reported apart.")
    var slowViewers = 0

    @Option(help: "The slow viewers' download, below --bitrate, e.g. 1M (default: 40% of --bitrate).")
    var slowViewerRate: String?

    @Option(help: "This many pairs' families read the screen as over a slow download (--slow-family-rate) and ask to catch up as the web pages do; reported apart.")
    var slowFamilies = 0

    @Option(help: "The slow families' download, below --screen-bitrate, e.g. 300k (default: 40% of --screen-bitrate).")
    var slowFamilyRate: String?

    @Option(help: "Worker threads, each with its own lws client context (default: the number of cores).")
    var workers: Int?

    @Option(help: ArgumentHelp("Write the report as JSON to FILE too.", valueName: "FILE.json"))
    var report: String?

    @Option(help: ArgumentHelp("Sample this process's CPU and memory as the relay's (default: the local process listening on the port, if any).",
                               valueName: "PID"))
    var serverPID: Int32?

    @Option(name: .customLong("metrics-token"), help: ArgumentHelp(
        "Sample the relay's CPU and memory from its GET /metrics with this token ('vigrelay token metrics'), for a relay on another machine." + SecretArgument.note,
        valueName: "TOKEN"), transform: SecretArgument.read)
    var metricsToken: String?

    func run() throws {
        Interruption.install()
        var exitCode: Int32 = 0
        try reportingErrors { () throws(ClientError) in
            let plan = try makePlan()
            ClientLoop.setLibraryLogLevel(verbose ? 7 : 0)
            let result = try LoadRun(plan: plan).run(console: LoadConsole())
            print(result.text)
            if let report {
                guard FileManager.default.createFile(atPath: report, contents: Data((result.json + "\n").utf8)) else {
                    throw .io("cannot write the report to \(report)")
                }
            }
            exitCode = result.exitCode
        }
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Checks the options and turns them into a plan; every mistake is a usage error naming the option.
    private func makePlan() throws(ClientError) -> LoadPlan {
        let target: LoadPlan.Target
        switch mode {
        case "vigrelay":
            guard url == nil else { throw .usage("--url goes with --mode mirror; a vigrelay is given with --server https://HOST:PORT") }
            guard let server else { throw .usage("--server https://HOST:PORT is required (or --mode mirror --url wss://...)") }
            guard let token, !token.isEmpty else { throw .usage("--token is required: a practitioner token from 'vigrelay token practitioner --id ID'") }
            target = .relay(try ServerEndpoint(parsing: server), token: token)
        case "mirror":
            guard let url else { throw .usage("--mode mirror needs --url wss://HOST:PORT/PATH") }
            guard server == nil, token == nil else { throw .usage("--server and --token are for vigrelay mode; --mode mirror connects to --url only") }
            guard !record else { throw .usage("--record needs the vigrelay protocol; it does not go with --mode mirror") }
            target = .mirror(try MirrorTarget(parsing: url))
        default:
            throw .usage("--mode '\(mode)' is not a mode: vigrelay (the default) or mirror")
        }
        guard (1...100_000).contains(pairs) else { throw .usage("--pairs must be 1 to 100000") }
        let fps = fps ?? 10
        guard fps > 0, fps <= 1000 else { throw .usage("--fps must be more than 0 and at most 1000") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let workerCount = workers ?? max(1, cores)
        guard (1...256).contains(workerCount) else { throw .usage("--workers must be 1 to 256") }
        if let frameSize, frameSize < 16 || frameSize > maxPayloadBytes {
            throw .usage("--frame-size must be 16 to \(maxPayloadBytes) bytes (sequence and send time first; the relay's default message limit is 16 MiB, header included)")
        }
        guard let seconds = try parseDuration(duration, option: "--duration") else { throw .usage("--duration is required") }
        let rampSeconds = ["0", "0s"].contains(ramp) ? 0 : try parseDuration(ramp, option: "--ramp") ?? 0
        let screen = try screenBitrate.map { text throws(ClientError) in try parseBitrate(text, option: "--screen-bitrate") } ?? 0
        if let serverPID, serverPID <= 0 { throw .usage("--server-pid must be a process id (a positive number)") }
        if metricsToken != nil {
            guard mode == "vigrelay" else { throw .usage("--metrics-token reads a vigrelay's GET /metrics; with --mode mirror use --server-pid") }
            guard serverPID == nil else { throw .usage("--metrics-token and --server-pid both say where the relay's figures come from: give one") }
        }
        if let report { try checkWritable(report) }
        if idle {
            guard mode == "vigrelay" else { throw .usage("--idle needs the vigrelay protocol (sessions, hello, welcome); it does not go with --mode mirror") }
            guard !record, screenBitrate == nil, frameSize == nil else {
                throw .usage("--idle sends no media: leave out --record, --screen-bitrate and --frame-size")
            }
        }
        let bitsPerSecond = try parseBitrate(bitrate, option: "--bitrate")
        if frameSize != nil, bitsPerSecond > 0, self.fps != nil {
            throw .usage("--frame-size with a --bitrate sets the frame rate (the bitrate over the frame's bits): leave out --fps, or change the frame size")
        }
        var plan = LoadPlan(target: target, trust: try ClientTrust.from(caFile: caFile, insecure: insecure), pairs: pairs,
                        bitsPerSecond: bitsPerSecond, framesPerSecond: fps, frameSize: frameSize,
                        durationSeconds: seconds, rampSeconds: rampSeconds, record: record, screenBitsPerSecond: screen,
                        workers: workerCount, serverPID: serverPID)
        plan.idle = idle
        plan.serverMetricsToken = metricsToken
        guard (0...100_000).contains(connectWindow) else { throw .usage("--connect-window must be 0 (no limit) to 100000") }
        if connectWindow > 0, mode != "vigrelay" { throw .usage("--connect-window is for vigrelay mode; mirror pairs connect as they start") }
        if connectWindow > 0, connectWindow < workerCount {
            throw .usage("--connect-window \(connectWindow) is less than --workers \(workerCount): each worker gates its own pairs, so give at least one each (or fewer workers)")
        }
        plan.connectWindow = connectWindow
        try addSlowDownloads(to: &plan)
        return plan
    }

    /// `--slow-viewers` and `--slow-viewer-rate` (the camera's practitioners), `--slow-families` and
    /// `--slow-family-rate` (the screen's families), checked against the rest of the plan.
    private func addSlowDownloads(to plan: inout LoadPlan) throws(ClientError) {
        plan.slowViewers = try slowDownloads(slowViewers, rate: slowViewerRate, of: .camera, in: plan)
        plan.slowFamilies = try slowDownloads(slowFamilies, rate: slowFamilyRate, of: .screen, in: plan)
    }

    /// `count` receivers of `stream` on downloads of `rateText` (default 40% of the stream's bitrate).
    private func slowDownloads(_ count: Int, rate rateText: String?, of stream: MediaStream,
                               in plan: LoadPlan) throws(ClientError) -> LoadPlan.SlowDownloads {
        let camera = stream == .camera
        let (countOption, rateOption, who) = camera ? ("--slow-viewers", "--slow-viewer-rate", "practitioners")
                                                    : ("--slow-families", "--slow-family-rate", "families")
        let (bitrateOption, bitrateText, streamBitsPerSecond) = camera ? ("--bitrate", bitrate, plan.bitsPerSecond)
                                                                       : ("--screen-bitrate", screenBitrate ?? "", plan.screenBitsPerSecond)
        guard count != 0 else {
            if rateText != nil { throw .usage("\(rateOption) goes with \(countOption) N (how many \(who) read that slowly)") }
            return LoadPlan.SlowDownloads()
        }
        guard (1...plan.pairs).contains(count) else { throw .usage("\(countOption) must be 0 to --pairs (\(plan.pairs))") }
        guard mode == "vigrelay", !plan.idle else {
            throw .usage("\(countOption) needs the vigrelay protocol and media (catch_up, skipped): it does not go with --mode mirror or --idle")
        }
        guard streamBitsPerSecond > 0 else {
            throw .usage(camera
                ? "--slow-viewers needs a paced camera (--bitrate above 0): an unpaced pair keeps at most 4 MiB in flight, so it would slow down to its viewer instead of being skipped"
                : "--slow-families needs a screen stream to read (--screen-bitrate, e.g. 800k): a family's download carries the practitioner's screen")
        }
        let rate = try rateText.map { text throws(ClientError) in try parseBitrate(text, option: rateOption) } ?? streamBitsPerSecond * 0.4
        guard rate > 0, rate < streamBitsPerSecond else {
            throw .usage("\(rateOption) must be above 0 and below \(bitrateOption) (\(bitrateText)): a viewer that fast is not slow")
        }
        let slowest = plan.slowestDownloadBitsPerSecond(of: stream)
        guard rate >= slowest else {
            let keyframe = plan.keyframeBytes(of: stream)
            throw .usage(String(format: "%@ %@ is too slow for this %@: each %d-byte keyframe would take %.1f s on that link, "
                                + "more than half the %.0f s a pair may receive nothing before it fails; give at least %.0fk (or a lower %@)",
                                rateOption, rateText ?? "", camera ? "camera" : "screen", keyframe, Double(keyframe * 8) / rate,
                                plan.stallSeconds, slowest / 1000, bitrateOption))
        }
        return LoadPlan.SlowDownloads(count: count, bitsPerSecond: rate)
    }

    /// Fails before the run, not after it, when the report could not be written there.
    private func checkWritable(_ path: String) throws(ClientError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue, FileManager.default.isWritableFile(atPath: path) else {
                throw .usage("--report \(path) cannot be written (a directory, or not writable); name another file")
            }
            return
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw .usage("--report \(path) cannot be created: \(directory) does not exist or is not writable")
        }
    }
}
