import Foundation
import VigRelayCore

/// Which recording key a data directory's recordings are encrypted under: `DATA/recording-key.id`,
/// holding the key's id (never the key), written by the first relay started with `--recording-key`.
///
/// Why: a restart that forgot `--recording-key` (or was given another key) would record the next
/// families unencrypted, or under a key the older recordings do not open with, and nobody would
/// notice. With the mark such a start is refused, saying which key the directory needs. An
/// operator who means to stop encrypting removes the file (the recordings made under the key then
/// still need it to be read). Checked once at start, on the main thread, after the data directory lock.
public enum RecordingKeyMark {
    /// Why the relay may not start with the recording key it was given.
    public enum Refusal: Error, CustomStringConvertible, Equatable {
        /// The directory's recordings are encrypted, and no key was given.
        case keyMissing(dataDir: String, keyId: String)
        /// The directory's recordings are encrypted under another key.
        case otherKey(dataDir: String, directoryKeyId: String, givenKeyId: String)
        case unwritable(path: String, reason: String)

        public var description: String {
            switch self {
            case .keyMissing(let dir, let id):
                "the recordings in \(dir) are encrypted under recording key \(id): start the relay with --recording-key and that key's file (to record unencrypted from now on instead, remove \(RecordingKeyMark.path(dataDir: dir)); the recordings made under the key still need it to be read)"
            case .otherKey(let dir, let id, let given):
                "the recordings in \(dir) are encrypted under recording key \(id), and --recording-key is key \(given): give the relay the key it was using"
            case .unwritable(let path, let reason):
                "cannot write \(path): \(reason)"
            }
        }
    }

    public static func path(dataDir: String) -> String { dataDir + "/recording-key.id" }

    /// The id of the key the directory's recordings are encrypted under; nil when it has no mark.
    public static func keyID(dataDir: String) -> String? {
        FileIO.readAll(path(dataDir: dataDir)).map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Checks `keyring` (nil: the relay runs without a key) against the directory's mark, and marks
    /// the directory when a key is used there for the first time.
    public static func check(dataDir: String, keyring: RecordingKeyring?) throws(Refusal) {
        switch (keyID(dataDir: dataDir), keyring) {
        case (nil, nil):
            return
        case (let marked?, nil):
            throw .keyMissing(dataDir: dataDir, keyId: marked)
        case (let marked?, let keyring?):
            guard marked == keyring.keyID else { throw .otherKey(dataDir: dataDir, directoryKeyId: marked, givenKeyId: keyring.keyID) }
        case (nil, let keyring?):
            try mark(dataDir: dataDir, keyID: keyring.keyID)
        }
    }

    /// Marks the directory's recordings as encrypted under the key `keyID` (atomic, mode 0600).
    static func mark(dataDir: String, keyID: String) throws(Refusal) {
        let path = path(dataDir: dataDir)
        do { try FileIO.writeAtomically(Array((keyID + "\n").utf8), to: path, mode: 0o600) } catch {
            throw .unwritable(path: path, reason: "\(error)")
        }
    }
}
