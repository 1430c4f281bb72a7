import ArgumentParser

/// `vigrelay-client`: the headless client of the relay, for tests and demos without a browser.
struct VigRelayClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigrelay-client",
        abstract: "Headless client of the vigrelay relay: create sessions, join as either side, send and verify media, record, cut and download clips.",
        discussion: """
            Exit status: 0 success, 1 protocol error or failed verification, 2 relay unreachable or TLS \
            failure, 3 token refused, 64 bad command line.
            """,
        subcommands: [CreateCommand.self, InviteCommand.self, PractitionerCommand.self, FamilyCommand.self, PairCommand.self, LoadCommand.self,
                      SessionsCommand.self, CyclesCommand.self, SessionCommand.self, LabelCommand.self, ClipCommand.self, DownloadCommand.self,
                      GiveClipCommand.self, FamilyCopiesCommand.self]
    )
}

VigRelayClientCommand.main()
