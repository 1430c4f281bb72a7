import ArgumentParser

/// `vigrelay`: the relay server and its admin commands.
@main
struct VigRelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigrelay",
        abstract: "TLS WebSocket relay for online Video Interaction Guidance.",
        subcommands: [ServeCommand.self, TokenCommand.self, RetentionCommand.self, RecordingKeyCommand.self, RekeyCommand.self]
    )
}

/// Options shared by commands that read the data directory's secret.
struct SecretOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory holding sessions and the token secret.")
    var dataDir = "./data"

    @Option(name: .customLong("secret-file"), help: ArgumentHelp(
        "File with the token-signing secret (at least 32 bytes) instead of DATA/secret.",
        discussion: "Also read from the VIGRELAY_SECRET_FILE environment variable."))
    var secretFile: String?

    /// The flag, else the environment variable, else nil (use DATA/secret).
    var effectiveSecretFile: String? {
        secretFile ?? ProcessInfoEnvironment.value("VIGRELAY_SECRET_FILE")
    }
}
