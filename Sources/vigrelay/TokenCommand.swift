import ArgumentParser
import Foundation
import VigRelayCore
import VigRelayStorage

/// `vigrelay token practitioner`: issues a signed practitioner token.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue tokens.",
        subcommands: [PractitionerToken.self]
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

        func validate() throws {
            guard Identifiers.isValidPractitionerID(id) else {
                throw ValidationError("--id '\(id)' is not valid: use 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit")
            }
            guard DurationParser.seconds(ttl) != nil else {
                throw ValidationError(DurationParser.usage(option: "--ttl", value: ttl))
            }
        }

        func run() throws {
            let key = try SecretStore.loadOrCreate(dataDir: secret.dataDir, overridePath: secret.effectiveSecretFile)
            let expires = Date().addingTimeInterval(TimeInterval(DurationParser.seconds(ttl)!))
            let token = TokenAuthority(secret: key).sign(.practitioner(id: id, expiresAt: expires))
            print("# practitioner token for \(id), expires \(ISO8601DateFormatter().string(from: expires))")
            print(token)
        }
    }
}
