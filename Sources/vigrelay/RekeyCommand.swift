import ArgumentParser
import Foundation
import VigRelayStorage

/// `vigrelay rekey --from OLD --to NEW [--data-dir DIR]`: moves a data directory's recordings to a
/// new recording key, with the relay stopped (it takes the directory's lock, as `serve` does).
struct RekeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Move the recordings of a data directory to a new recording key (stop the relay first).",
        discussion: """
            Seals each recording's own key again under the new recording key (make it with `vigrelay \
            recording-key FILE`); the video itself is not rewritten, so it takes a moment. Then the data \
            directory needs the new key: start the relay with --recording-key NEW. Run it again if it was \
            cut short. The old key still opens old copies of the manifests (backups, blocks left on the \
            disk): destroy it once the relay runs with the new one.
            """)

    @Option(help: "The recording key the relay uses now.")
    var from: String

    @Option(help: "The new recording key.")
    var to: String

    @Option(name: .customLong("data-dir"), help: "Data directory of the relay.")
    var dataDir = "./data"

    func run() throws {
        do {
            let lock = try DataDirectoryLock.acquire(dataDir: dataDir)
            defer { withExtendedLifetime(lock) {} }
            let outcome = try RecordingRekey.run(dataDir: dataDir, from: try RecordingKeyFile.load(path: from),
                                                 to: try RecordingKeyFile.load(path: to))
            print("moved \(outcome.moved.count) recording(s) to the new key; \(outcome.alreadyMoved) were under it already")
            for name in outcome.otherKey { print("left under a third key (neither --from nor --to): \(name)") }
            for (name, reason) in outcome.failed.sorted(by: { $0.key < $1.key }) { print("NOT moved: \(name): \(reason)") }
            guard outcome.markMoved else {
                print("the data directory still needs the old key: mend or remove what was not moved, then run this again")
                throw ExitCode(1)
            }
            print("the data directory now needs the new key: start the relay with --recording-key \(to), then destroy \(from)")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("vigrelay rekey: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
