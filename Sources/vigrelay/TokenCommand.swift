import ArgumentParser
import Foundation
import VigRelayCore
import VigRelayStorage

/// `vigrelay token practitioner|metrics`: issues signed tokens with the server's secret; `revoke` revokes them.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue and revoke tokens.",
        subcommands: [PractitionerToken.self, MetricsToken.self, RevokeTokenCommand.self]
    )

    struct PractitionerToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "practitioner",
            abstract: "Print a practitioner token (the last line of stdout).")

        @Option(help: "Practitioner id: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit (a staff id, not a person's name).")
        var id: String

        @Option(help: "Lifetime, e.g. 90s, 12h, 30d.")
        var ttl = "30d"

        @OptionGroup var secret: SecretOptions

        func validate() throws { try TokenCommand.validate(id: id, ttl: ttl) }

        func run() throws {
            try TokenCommand.issue(secret: secret, ttl: ttl, what: "practitioner token for \(id)") { .practitioner(id: id, expiresAt: $0) }
        }
    }

    struct MetricsToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics",
            abstract: "Print a token that reads GET /metrics and nothing else (the last line of stdout).",
            discussion: "For a monitoring system such as Prometheus: give it as a bearer token (Prometheus: authorization.credentials_file).")

        @Option(help: "Who scrapes, e.g. prometheus: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit.")
        var id: String

        @Option(help: "Lifetime, e.g. 30d, 365d.")
        var ttl = "365d"

        @OptionGroup var secret: SecretOptions

        func validate() throws { try TokenCommand.validate(id: id, ttl: ttl) }

        func run() throws {
            try TokenCommand.issue(secret: secret, ttl: ttl, what: "metrics token for \(id)") { .metrics(id: id, expiresAt: $0) }
        }
    }

    static func validate(id: String, ttl: String) throws {
        try validate(id: id)
        guard DurationParser.seconds(ttl) != nil else {
            throw ValidationError(DurationParser.usage(option: "--ttl", value: ttl))
        }
    }

    /// The `--id` of a practitioner or metrics token (also `revoke`'s).
    static func validate(id: String) throws {
        guard Identifiers.isValidPractitionerID(id) else {
            throw ValidationError("--id '\(id)' is not valid: use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
        }
    }

    /// Signs the claims `make` builds for the expiry `ttl` from now, and prints a comment line, then the token.
    static func issue(secret: SecretOptions, ttl: String, what: String, _ make: (Date) -> TokenClaims) throws {
        let key = try SecretStore.loadOrCreate(dataDir: secret.dataDir, overridePath: secret.effectiveSecretFile)
        let expires = Date().addingTimeInterval(TimeInterval(DurationParser.seconds(ttl)!))
        print("# \(what), expires \(ISO8601DateFormatter().string(from: expires))")
        print(TokenAuthority(secret: key).sign(make(expires)))
    }
}
