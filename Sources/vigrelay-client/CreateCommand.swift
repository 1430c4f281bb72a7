import ArgumentParser
import VigRelayClientKit

/// `create`: a practitioner creates a session and gets the family's invite.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a session (POST /v1/sessions) and print its id and the family's invite."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: ArgumentHelp("Practitioner token (from 'vigrelay token practitioner')." + SecretArgument.note), transform: SecretArgument.read)
    var token: String

    @OptionGroup var labels: LabelOptions

    @Flag(help: "Print the relay's JSON answer as it is.")
    var json = false

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let created = try SessionCreator.create(loop: loop, token: token, labels: labels.given)
            created.print(json: json)
        }
    }
}

/// A session's labels, as `create` and `label` take them.
struct LabelOptions: ParsableArguments {
    @Option(help: "Pseudonymous family reference (never a name); give all of a family's sessions the same one: the relay keeps a case's recordings until its retention period has passed since the last session.")
    var caseRef: String?

    @Option(help: "VIG cycle number, 1-99. With --case-ref and --purpose, the session counts in your cycle log (vigrelay-client cycles) once held.")
    var cycle: Int?

    @Option(help: "filming or review (the shared review): a cycle is complete when both were held.")
    var purpose: String?

    @Option(help: ArgumentHelp("Your supervisor's practitioner id: they may watch the session's recordings if the family agrees (family --supervisor-may-view, or the box on their page).", valueName: "ID"))
    var supervisor: String?

    var given: SessionLabels { SessionLabels(caseRef: caseRef, cycle: cycle, purpose: purpose, supervisor: supervisor) }
}

extension CreatedSession {
    /// Prints the session and the family's invite: the relay's JSON as it is, or one `name: value` a line.
    func print(json: Bool) {
        if json {
            Swift.print(self.json)
        } else {
            Swift.print("sessionId: \(sessionID)")
            Swift.print("inviteToken: \(inviteToken)")
            Swift.print("joinUrl: \(joinURL)")
            Swift.print("expiresAt: \(expiresAt)")
        }
    }
}
