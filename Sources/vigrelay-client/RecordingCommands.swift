import ArgumentParser
import VigRelayClientKit

/// Options naming the practitioner and the session for the recording commands.
struct SessionAccess: ParsableArguments {
    @Option(help: "Practitioner token of the session's creator.")
    var token: String

    @Option(help: "Session id (from 'create').")
    var session: String
}

/// `session`: the session's summary.
struct SessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "session",
        abstract: "Print a session's summary as JSON: events, recordings, marks and clips (GET /v1/sessions/{id})."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            print(try RecordingAPI.summary(loop: loop, token: access.token, sessionID: access.session))
        }
    }
}

/// `clip`: make a clip of a recording and optionally download it.
struct ClipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Make a clip of a recording (cut at keyframes, no re-encoding), print it as JSON, and optionally download it.",
        discussion: "VIG clips are 3-10 s; the relay takes up to 60 s. The clip starts at the keyframe at or before --from-ms."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    @Option(help: "The recording (its id from 'practitioner --record' or 'session').")
    var recording: String

    @Option(name: .customLong("from-ms"), help: "Start, ms from the recording's start.")
    var fromMs: Int

    @Option(name: .customLong("to-ms"), help: "End, ms from the recording's start.")
    var toMs: Int

    @Option(help: "A note for the clip (at most 500 characters).")
    var note: String?

    @Option(help: ArgumentHelp("Also download the clip to FILE.", valueName: "FILE"))
    var output: String?

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let clip = try RecordingAPI.createClip(loop: loop, token: access.token, sessionID: access.session,
                                                   recordingID: recording, fromMs: fromMs, toMs: toMs, note: note)
            print(clip.json)
            if let output {
                let bytes = try RecordingAPI.download(loop: loop, token: access.token, sessionID: access.session,
                                                      .clip(id: clip.clipID), to: output)
                printError("clip \(clip.clipID) (\(clip.actualFromMs)-\(clip.actualToMs) ms): \(bytes) bytes written to \(output)")
            }
        }
    }
}

/// `download`: a recording part or a clip to a file.
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a recording (one part) or a clip to a file."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    @Option(help: "The recording to download.")
    var recording: String?

    @Option(help: "With --recording: the part (a recording gets a new part when the family's camera restarts).")
    var part = 1

    @Option(help: "The clip to download (instead of --recording).")
    var clip: String?

    @Option(help: ArgumentHelp("Where to write it.", valueName: "FILE"))
    var output: String

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let resource: RecordingAPI.Resource
            switch (recording, clip) {
            case (let r?, nil): resource = .recording(id: r, part: part)
            case (nil, let c?): resource = .clip(id: c)
            default: throw .usage("give --recording ID [--part N] or --clip ID")
            }
            guard (1...999).contains(part) else { throw .usage("--part must be 1 to 999") }
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let bytes = try RecordingAPI.download(loop: loop, token: access.token, sessionID: access.session, resource, to: output)
            printError("\(bytes) bytes written to \(output)")
        }
    }
}
