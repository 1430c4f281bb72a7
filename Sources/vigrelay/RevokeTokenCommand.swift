import ArgumentParser
import Foundation
import VigRelayCore
import VigRelayStorage

extension TokenRevocations.Kind: ExpressibleByArgument {}

/// `vigrelay token revoke practitioner|metrics --id ID`: revokes every token issued to an id so far,
/// e.g. when a practitioner leaves or a laptop is lost, without replacing the secret (which would
/// end every practitioner's and family's token at once).
struct RevokeTokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke every token issued so far to a practitioner or a metrics id.",
        discussion: """
            Writes DATA/revoked-tokens.json. A relay using this data directory applies it within about a \
            second: its WebSockets joined with such a token are closed, its downloads started with one are \
            cut off, and the tokens are refused from then on (401 unauthorized). Tokens issued afterwards to \
            the same id work. A family's link is not revoked here: the session's practitioner replaces it \
            with a new one ('vigrelay-client invite', or the practitioner's page).
            """)

    @Argument(help: "The kind of token: practitioner or metrics.")
    var kind: TokenRevocations.Kind

    @Option(help: "The id the tokens were issued to (--id of 'vigrelay token practitioner' or 'metrics').")
    var id: String

    @Option(name: .customLong("data-dir"), help: "Data directory of the relay.")
    var dataDir = "./data"

    func validate() throws { try TokenCommand.validate(id: id) }

    func run() throws {
        if !FileManager.default.fileExists(atPath: dataDir + "/sessions"), !FileManager.default.fileExists(atPath: SecretStore.defaultPath(dataDir: dataDir)) {
            FileHandle.standardError.write(Data("warning: \(dataDir) has no sessions and no secret: is it the relay's --data-dir? A relay reads revocations from its own.\n".utf8))
        }
        let now = Date()
        let revocations = try TokenRevocationFile.revoke(kind, id: id, issuedBeforeMs: Int64((now.timeIntervalSince1970 * 1000).rounded(.up)),
                                                         dataDir: dataDir)
        let time = ISO8601DateFormatter.string(from: now, timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        print("# revoked every \(kind.rawValue) token for \(id) issued before \(time) (\(TokenRevocationFile.path(dataDir: dataDir)), \(revocations.entries.count) revoked in all)")
        print("# a relay using this data directory applies it within about a second and closes the connections such a token opened")
        print("# a new token for \(id): vigrelay token \(kind.rawValue) --id \(id) --data-dir \(dataDir)")
    }
}
