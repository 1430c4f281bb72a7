import Foundation
import VigRelayCore

/// Moves a data directory's recordings from one recording key to another (`vigrelay rekey`): each
/// encrypted manifest's data key is opened under the old key and sealed again under the new one;
/// the media is not touched (its data keys stay the same), so this takes a moment however much is
/// recorded. Then `DATA/recording-key.id` names the new key.
///
/// For a key that may have leaked, or one held by someone leaving. The old key still opens copies
/// of the old manifests (backups, blocks a rewrite left behind), so destroy it once the relay runs
/// with the new one.
///
/// Safe to run again: manifests already under the new key are left, so a run cut short (a crash,
/// a damaged manifest) is finished by running it again; the mark moves only when every recording
/// under the old key was moved. The caller holds the data directory's lock (no relay running).
public enum RecordingRekey {
    /// What a run did.
    public struct Outcome: Sendable, Equatable {
        /// Recordings whose data key is now sealed under the new key (by this run).
        public var moved: [String] = []
        /// Recordings already under the new key.
        public var alreadyMoved = 0
        /// Recordings under neither key (made under a third one): left as they are, listed as `sid/rid`.
        public var otherKey: [String] = []
        /// Recordings under the old key that could not be moved, with why.
        public var failed: [String: String] = [:]
        /// Whether the data directory's mark now names the new key.
        public var markMoved = false
    }

    /// Why the directory cannot be moved to the new key at all.
    public enum Refusal: Error, CustomStringConvertible, Equatable {
        case notEncrypted(dataDir: String)
        case otherKey(dataDir: String, directoryKeyId: String, fromKeyId: String)
        case sameKey(keyId: String)

        public var description: String {
            switch self {
            case .notEncrypted(let dir):
                "\(dir) has no \(RecordingKeyMark.path(dataDir: dir)): its relay never encrypted recordings, so there is no key to change"
            case .otherKey(let dir, let marked, let from):
                "the recordings in \(dir) are encrypted under recording key \(marked), and --from is key \(from): give the key the relay uses"
            case .sameKey(let id):
                "--from and --to are the same key (\(id)): make a new one with `vigrelay recording-key FILE`"
            }
        }
    }

    /// Moves every recording under `from` to `to` and then the directory's mark.
    public static func run(dataDir: String, from: RecordingKeyring, to: RecordingKeyring) throws -> Outcome {
        guard from.keyID != to.keyID else { throw Refusal.sameKey(keyId: from.keyID) }
        guard let marked = RecordingKeyMark.keyID(dataDir: dataDir) else { throw Refusal.notEncrypted(dataDir: dataDir) }
        guard marked == from.keyID || marked == to.keyID else {
            throw Refusal.otherKey(dataDir: dataDir, directoryKeyId: marked, fromKeyId: from.keyID)
        }
        let store = RecordingStore(dataDir: dataDir)
        var outcome = Outcome()
        for sid in store.sessionIDs() {
            for var manifest in store.manifests(sessionID: sid) {
                guard let encryption = manifest.encryption else { continue }
                let rid = manifest.recordingId, name = "\(sid)/\(rid)"
                switch encryption.keyId {
                case to.keyID:
                    outcome.alreadyMoved += 1
                case from.keyID:
                    do {
                        let dataKey = try from.dataKey(encryption, sessionID: sid, recordingID: rid)
                        manifest.encryption = to.wrap(dataKey, sessionID: sid, recordingID: rid)
                        guard let path = store.paths.manifestFile(sessionID: sid, recordingID: rid) else { continue }
                        try RecordingManifestFile.write(manifest, to: path)
                        outcome.moved.append(name)
                    } catch {
                        outcome.failed[name] = "\(error)"
                    }
                default:
                    outcome.otherKey.append(name)
                }
            }
        }
        if outcome.failed.isEmpty {
            try RecordingKeyMark.mark(dataDir: dataDir, keyID: to.keyID)
            outcome.markMoved = true
        }
        return outcome
    }
}
