import ArgumentParser
import Foundation
import VigRelayClientKit

/// `give-clip`: the practitioner gives the family a copy of a clip to keep, or takes it back.
struct GiveClipCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "give-clip",
        abstract: "Give the session's family a copy of a clip to keep, or take it back (PUT/DELETE /v1/sessions/{id}/family-copies/{clipId}).",
        discussion: "Only on a relay started with --family-copies. The family saves it with its link ('family-copies'); a copy it saved already stays its own."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    @Option(help: "The clip (its id from 'clip' or 'session').")
    var clip: String

    @Option(name: .customLong("clip-session"), help: ArgumentHelp("The session the clip was cut in, when it is another session of this one's case (a shared review giving the filming's clip).", valueName: "ID"))
    var clipSession: String?

    @Flag(help: "Take the clip back instead: the family can no longer save it.")
    var takeBack = false

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            if takeBack, clipSession != nil { throw .usage("--take-back needs only --clip: the copy is the session's") }
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            print(try RecordingAPI.familyCopy(loop: loop, token: access.token, sessionID: access.session, clipID: clip,
                                              clipSessionID: clipSession, give: !takeBack))
        }
    }
}

/// `family-copies`: the family lists the clips it was given to keep, and saves them.
struct FamilyCopiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "family-copies",
        abstract: "As the family: list the clips your practitioner gave you to keep (GET /v1/sessions/{id}/family-copies), and save them.",
        discussion: "Prints the relay's list as JSON. With --save-to DIR, each clip is saved as DIR/clip-N.webm (or .mp4), readable by you alone."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("The family's invite: the inviteToken or the joinUrl (the session's newest link)." + SecretArgument.note), transform: SecretArgument.read)
    var invite: String

    @Option(name: .customLong("save-to"), help: ArgumentHelp("Save every clip given into this directory.", valueName: "DIR"))
    var saveTo: String?

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let link = try InviteLink(parsing: invite)
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let (copies, json) = try RecordingAPI.familyCopies(loop: loop, invite: link)
            print(json)
            guard let saveTo else { return }
            Interruption.install()  // Ctrl-C ends a download cleanly (no half file)
            for (n, copy) in copies.enumerated() {
                let path = URL(fileURLWithPath: saveTo).appendingPathComponent("clip-\(n + 1).\(copy.mediaType == "video/mp4" ? "mp4" : "webm")").path
                let bytes = try RecordingAPI.download(loop: loop, token: link.token, sessionID: link.sessionID, .familyCopy(id: copy.clipID), to: path)
                printError("clip \(n + 1) (\(copy.clipID)): \(bytes) bytes written to \(path)")
            }
        }
    }
}
