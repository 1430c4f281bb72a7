import ArgumentParser
import Foundation
import VigRelayStorage

/// `vigrelay recording-key FILE`: makes a new recording key for `vigrelay serve --recording-key`.
/// It never overwrites a file: a key replaced is every recording made under it lost.
struct RecordingKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording-key",
        abstract: "Make a new key for encrypting recordings at rest (vigrelay serve --recording-key FILE).",
        discussion: """
            Writes 32 random bytes as base64 to FILE, mode 0600; refuses a FILE that exists. Keep it \
            apart from the data directory (another disk, a secrets store, a systemd credential) and \
            back it up apart from the recordings: a copy of the data directory alone shows no video, \
            and without the key no recording made under it can be read.
            """)

    @Argument(help: "Where to write the new key.")
    var file: String

    func run() throws {
        do {
            let keyring = try RecordingKeyFile.create(path: file)
            print("wrote a new recording key to \(file) (key id \(keyring.keyID)); start the relay with --recording-key \(file)")
        } catch {
            FileHandle.standardError.write(Data("vigrelay recording-key: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
