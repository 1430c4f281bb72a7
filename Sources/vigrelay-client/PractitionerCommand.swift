import ArgumentParser
import VigRelayClientKit

/// `practitioner`: join a session as its practitioner and receive the family's camera.
struct PractitionerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "practitioner",
        abstract: "Join a session as the practitioner: print events on stderr, save the camera stream, optionally send a screen stream.",
        discussion: """
            Exits 0 when the family's camera stream ends (end-of-stream frame) or --duration passes. With --record, \
            the camera is recorded on the relay from joining (once the family has consented) to the end, and \
            the recording's id, size and marks are printed on stdout as one JSON line (unless --output is '-').
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Practitioner token of the session's creator." + SecretArgument.note), transform: SecretArgument.read)
    var token: String

    @Option(help: "Session id (from 'create').")
    var session: String

    @Option(help: ArgumentHelp("Write every camera frame's payload to FILE ('-' for stdout).", valueName: "FILE"))
    var output: String?

    @Option(help: "Stop after this long, e.g. 30s or 5m (default: when the camera stream ends).")
    var duration: String?

    @Option(help: ArgumentHelp("Send this file to the family as the screen stream.", valueName: "FILE"))
    var screenFile: String?

    @Option(help: "Send a screen stream at this bitrate (synthetic frames unless --screen-file), e.g. 800k.")
    var screenBitrate: String?

    @Option(help: "Bytes per screen frame when sending --screen-file.")
    var chunkSize = 65536

    @Flag(help: "Record the family's camera on the relay (waits for the family's consent if needed).")
    var record = false

    @Option(help: ArgumentHelp("With --record: mark a moment, MS or MS:NOTE (ms from the recording's start); repeatable.", valueName: "MARK"))
    var mark: [String] = []

    @Option(help: "With --record: how long to wait for the family's consent, e.g. 60s.")
    var consentWait = "60s"

    func run() throws {
        Interruption.install()
        try reportingErrors { () throws(ClientError) in
            let seconds = try parseDuration(duration, option: "--duration")
            var screen: SendPlan?
            if screenFile != nil || screenBitrate != nil {
                let bits = try screenBitrate.map { text throws(ClientError) in try parseBitrate(text, option: "--screen-bitrate") } ?? 800_000
                guard chunkSize > 0, chunkSize <= maxPayloadBytes else { throw .usage("--chunk-size must be 1 to \(maxPayloadBytes) bytes (the relay's default message limit is 16 MiB, header included)") }
                screen = SendPlan(input: screenFile.map { .file($0) } ?? .synthetic, bitsPerSecond: bits, framesPerSecond: 5,
                                  chunkSize: chunkSize, durationSeconds: nil)
            }
            guard record || mark.isEmpty else { throw .usage("--mark goes with --record") }
            let marks = try mark.map { text throws(ClientError) in try MarkRequest(parsing: text) }
            let recordPlan = record ? RecordPlan(marks: marks, consentWaitSeconds: try parseDuration(consentWait, option: "--consent-wait") ?? 60) : nil
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let recording = try PractitionerRun(token: token, sessionID: session, outputPath: output, durationSeconds: seconds,
                                                screen: screen, record: recordPlan).run(loop: loop, log: printError)
            if let recording, output != "-" { print(recording.json) }
        }
    }
}
