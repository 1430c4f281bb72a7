import ArgumentParser
import VigRelayClientKit
import VigRelayCore

/// Options naming the practitioner and the session for the recording commands.
struct SessionAccess: ParsableArguments {
    @Option(help: ArgumentHelp("Practitioner token of the session's creator (for 'session' and 'download', also of its supervisor while the family agrees)." + SecretArgument.note), transform: SecretArgument.read)
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
                Interruption.install()  // Ctrl-C ends the download cleanly (no half file)
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
            Interruption.install()  // Ctrl-C ends the download cleanly (no half file)
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let bytes = try RecordingAPI.download(loop: loop, token: access.token, sessionID: access.session, resource, to: output)
            printError("\(bytes) bytes written to \(output)")
        }
    }
}

/// `sessions`: the practitioner's sessions at a glance.
struct SessionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List your sessions, newest first: state, consent, recording, recordings and clips (GET /v1/sessions).",
        discussion: "One page at a time (--limit, at most 200); the last line says how to get the next page."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Practitioner token: lists the sessions this practitioner created." + SecretArgument.note), transform: SecretArgument.read)
    var token: String

    @Option(help: "Sessions per page, 1-200 (the relay's default: 50).")
    var limit: Int?

    @Option(help: ArgumentHelp("Continue after this session (the next page named by the previous one).", valueName: "ID"))
    var before: String?

    @Flag(help: "List the sessions you supervise whose families agreed that you may watch the recordings (GET /v1/supervision); 'session' and 'download' then take your token for them.")
    var supervising = false

    @Flag(help: "Print the relay's JSON answer as it is.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            if let limit, !(1...200).contains(limit) { throw .usage("--limit must be 1 to 200") }
            if let before, !Identifiers.isValidSessionID(before) {
                throw .usage("--before '\(before)' is not a session id: 32 lower-case hex characters, as the previous page named it")
            }
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            try printAnswer(RecordingAPI.sessions(loop: loop, token: token, limit: limit, before: before, supervising: supervising), json: json,
                            as: "a session list") { SessionTable.render($0, supervising: supervising) }
        }
    }
}

struct CyclesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycles",
        abstract: "Your VIG cycle log: each case's cycles, when their filming and review were held, and how many are complete (GET /v1/cycles).",
        discussion: """
            A session counts as held once the family and you were connected to it at the same time. It \
            belongs to the cycle named when it was created (create --case-ref R --cycle N --purpose \
            filming|review); a cycle is complete when its filming and its review were both held.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Practitioner token: the cycles of the sessions this practitioner created." + SecretArgument.note), transform: SecretArgument.read)
    var token: String

    @Option(help: ArgumentHelp("As a supervisor: this trainee's cycle log, from their sessions that name you as supervisor.", valueName: "ID"))
    var practitioner: String?

    @Flag(help: "Print the relay's JSON answer as it is.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            if let practitioner, !Identifiers.isValidPractitionerID(practitioner) {
                throw .usage("--practitioner '\(practitioner)' is not a practitioner id: 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit")
            }
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            try printAnswer(RecordingAPI.cycles(loop: loop, token: token, practitioner: practitioner), json: json, as: "a cycle log") {
                CycleTable.render($0, trainee: practitioner)
            }
        }
    }
}

/// Prints the relay's JSON answer as it is (`--json`), or the table `render` makes of it; an answer
/// it cannot read is a protocol error naming `what` was expected.
private func printAnswer(_ body: [UInt8], json: Bool, as what: String, render: ([UInt8]) -> String?) throws(ClientError) {
    if json {
        print(String(decoding: body, as: UTF8.self))
        return
    }
    guard let table = render(body) else {
        throw .protocolError("the relay's answer is not \(what): \(String(decoding: body.prefix(300), as: UTF8.self))")
    }
    print(table)
}
