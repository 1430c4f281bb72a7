import ArgumentParser
import VigRelayClientKit

/// `pair`: both sides in one process, synthetic frames verified end to end.
struct PairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pair",
        abstract: "Create a session, join as both sides and verify synthetic frames end to end.",
        discussion: """
            Frames carry their sequence, a CLOCK_MONOTONIC send time and bytes checkable from the sequence. \
            Prints frames, bytes, throughput, latency percentiles and lost/corrupt/reordered counts; exits 1 \
            on any loss, corruption or reordering. For a throughput run: --frames 2000 --frame-size 65536 --bitrate 0.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Practitioner token." + SecretArgument.note), transform: SecretArgument.read)
    var token: String

    @Option(help: "Bits per second per stream, e.g. 2.5M; 0 sends as fast as possible.")
    var bitrate = "2.5M"

    @Option(help: "Frames per second (and a keyframe flag every second).")
    var fps: Double = 10

    @Option(help: "How long to stream, e.g. 5s (ignored with --frames).")
    var duration = "5s"

    @Option(help: "Send exactly this many frames per stream instead of streaming for --duration.")
    var frames: Int?

    @Option(help: "Payload bytes per frame (default: bitrate / 8 / fps, or 65536 with --bitrate 0).")
    var frameSize: Int?

    @Flag(help: "Also stream screen frames practitioner -> family.")
    var screen = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        Interruption.install()
        try reportingErrors { () throws(ClientError) in
            guard fps > 0, fps <= 1000 else { throw .usage("--fps must be between 0 and 1000") }
            if let frames, frames < 1 { throw .usage("--frames must be at least 1") }
            if let frameSize, frameSize < 16 || frameSize > maxPayloadBytes { throw .usage("--frame-size must be 16 to \(maxPayloadBytes) bytes (sequence and send time first; the relay's default message limit is 16 MiB, header included)") }
            let seconds = try parseDuration(duration, option: "--duration") ?? 5
            let run = PairRun(token: token, bitsPerSecond: try parseBitrate(bitrate, option: "--bitrate"), framesPerSecond: fps,
                              durationSeconds: seconds, frames: frames, frameSize: frameSize, screen: screen)
            let practitionerLoop = try connection.makeLoop()
            defer { practitionerLoop.stop() }
            let familyLoop = try connection.makeLoop()
            defer { familyLoop.stop() }
            let report = try run.run(practitionerLoop: practitionerLoop, familyLoop: familyLoop, log: printError)
            print(json ? report.json : report.text)
            if !report.passed {
                throw .verificationFailed("pair: verification failed (see the report above)")
            }
        }
    }
}
