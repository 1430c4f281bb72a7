import ArgumentParser
import VigRelayClientKit

/// `label`: put a session's labels right, so that it counts in the right cycle of the cycle log.
struct LabelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "label",
        abstract: "Change a session's case, cycle, purpose or supervisor (PATCH /v1/sessions/{id}) and print the labels it has now.",
        discussion: """
            For a session created without labels, or with a mistyped case: it then counts in your cycle \
            log (vigrelay-client cycles) under the labels given. Labels not named keep their value. \
            A session moved to another case has its recordings kept as long as that case's (retention).
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var access: SessionAccess

    @OptionGroup var labels: LabelOptions

    @Flag(help: "Remove the case reference.")
    var removeCaseRef = false

    @Flag(help: "Remove the cycle number.")
    var removeCycle = false

    @Flag(help: "Remove the purpose.")
    var removePurpose = false

    @Flag(help: "Remove the supervisor: they can no longer watch the session's recordings.")
    var removeSupervisor = false

    @Flag(help: "Print the relay's JSON answer as it is.")
    var json = false

    func validate() throws {
        for (name, given, removed) in [("case-ref", labels.caseRef != nil, removeCaseRef), ("cycle", labels.cycle != nil, removeCycle),
                                       ("purpose", labels.purpose != nil, removePurpose),
                                       ("supervisor", labels.supervisor != nil, removeSupervisor)] where given && removed {
            throw ValidationError("give --\(name) or --remove-\(name), not both")
        }
        if edit.set == SessionLabels() && edit.remove.isEmpty {
            throw ValidationError("name a label to change: --case-ref, --cycle, --purpose or --supervisor, or --remove-case-ref, --remove-cycle, --remove-purpose or --remove-supervisor")
        }
    }

    var edit: SessionLabelEdit {
        let removed: [(Bool, String)] = [(removeCaseRef, "caseRef"), (removeCycle, "cycle"), (removePurpose, "purpose"),
                                         (removeSupervisor, "supervisor")]
        return SessionLabelEdit(set: labels.given, remove: Set(removed.filter(\.0).map(\.1)))
    }

    func run() throws {
        try reportingErrors { () throws(ClientError) in
            let loop = try connection.makeLoop()
            defer { loop.stop() }
            let answer = try SessionCreator.changeLabels(loop: loop, token: access.token, sessionID: access.session, edit: edit)
            if json {
                print(answer)
            } else {
                print(SessionLabelEdit.describe(answer: answer) ?? answer)
            }
        }
    }
}
