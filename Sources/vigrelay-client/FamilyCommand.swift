import ArgumentParser
import VigRelayClientKit

/// `family`: join with an invite and send the camera stream.
struct FamilyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "family",
        abstract: "Join a session as the family and send the camera stream: a file, stdin, or synthetic frames.",
        discussion: """
            Files and stdin are cut into --chunk-size frames paced at --bitrate (the first flagged init segment \
            and keyframe); synthetic frames have a larger keyframe every second. The stream ends with an \
            end-of-stream frame, then bye; exits 0 once the relay has closed the connection.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("The family's invite: the inviteToken or the joinUrl printed by 'create'." + SecretArgument.note), transform: SecretArgument.read)
    var invite: String

    @Option(help: ArgumentHelp("Send this file.", valueName: "FILE"))
    var file: String?

    @Flag(help: "Send what arrives on stdin.")
    var stdin = false

    @Flag(help: "Send synthetic frames (the default).")
    var synthetic = false

    @Option(help: "Bits per second, e.g. 2.5M or 800k; 0 sends as fast as possible.")
    var bitrate = "2.5M"

    @Option(help: "Frames per second of synthetic frames.")
    var fps: Double = 10

    @Option(help: "Stop after this long, e.g. 10s (default: end of the file or stdin; 10s for synthetic frames).")
    var duration: String?

    @Option(help: "Bytes per frame when sending a file or stdin.")
    var chunkSize = 65536

    @Option(help: ArgumentHelp("Write every screen frame's payload from the practitioner to FILE ('-' for stdout).", valueName: "FILE"))
    var output: String?

    @Option(help: ArgumentHelp("Before sending, wait up to this long for the practitioner to join, e.g. 30s.", valueName: "DURATION"))
    var waitForPeer: String?

    @Flag(help: "Consent to recording before sending (the practitioner can then record the camera).")
    var consent = false

    @Flag(help: "With --consent: a child aged 12 or over in the film agreed too.")
    var childAgreed = false

    @Flag(help: "With --consent: the practitioner's supervisor (named on the session) may watch the recordings too.")
    var supervisorMayView = false

    @Option(help: ArgumentHelp("With --consent: wait up to this long for the practitioner to start recording before sending, e.g. 60s.", valueName: "DURATION"))
    var waitForRecording: String?

    @Flag(help: "After sending, withdraw consent and wait until the relay has deleted every recording of the session.")
    var withdrawConsent = false

    func run() throws {
        Interruption.install()
        try reportingErrors { () throws(ClientError) in
            let inputs = [file != nil, stdin, synthetic].filter { $0 }.count
            guard inputs <= 1 else { throw .usage("choose one input: --file FILE, --stdin or --synthetic") }
            guard consent || (!childAgreed && !supervisorMayView && waitForRecording == nil) else {
                throw .usage("--child-agreed, --supervisor-may-view and --wait-for-recording go with --consent")
            }
            guard chunkSize > 0, chunkSize <= maxPayloadBytes else { throw .usage("--chunk-size must be 1 to \(maxPayloadBytes) bytes (the relay's default message limit is 16 MiB, header included)") }
            guard fps > 0, fps <= 1000 else { throw .usage("--fps must be between 0 and 1000") }
            let input: SendPlan.Input = file.map { .file($0) } ?? (stdin ? .stdin : .synthetic)
            var seconds = try parseDuration(duration, option: "--duration")
            if input == .synthetic, seconds == nil { seconds = 10 }
            let plan = SendPlan(input: input, bitsPerSecond: try parseBitrate(bitrate, option: "--bitrate"), framesPerSecond: fps,
                                chunkSize: chunkSize, durationSeconds: seconds)
            let link = try InviteLink(parsing: invite)
            let peerWait = try parseDuration(waitForPeer, option: "--wait-for-peer")
            let consentPlan = consent || withdrawConsent
                ? ConsentPlan(give: consent, childAgreed: childAgreed, supervisorMayView: supervisorMayView, withdrawAtEnd: withdrawConsent,
                              waitForRecordingSeconds: try parseDuration(waitForRecording, option: "--wait-for-recording")) : nil
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            try FamilyRun(invite: link, camera: plan, outputPath: output, waitForPeerSeconds: peerWait, consent: consentPlan)
                .run(loop: loop, log: printError)
        }
    }
}
