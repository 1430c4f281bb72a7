import ArgumentParser
import VigRelayClientKit

/// `invite`: a new family link for a session, when the first expired or went to the wrong person.
struct InviteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invite",
        abstract: "Make a new family link for a session (POST /v1/sessions/{id}/invite) and print it.",
        discussion: """
            The new link works for the relay's invite period from now. Every earlier link of the session \
            stops working at once, and a family connected with one is disconnected; an earlier link can \
            still ask for the session's videos to be deleted.
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    @Flag(help: "Print the relay's JSON answer as it is.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            try SessionCreator.newInvite(loop: loop, token: access.token, sessionID: access.session).print(json: json)
        }
    }
}
