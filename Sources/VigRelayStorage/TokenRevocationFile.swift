import Foundation
import VigRelayCore
#if canImport(Glibc)
import Glibc
#endif

/// `DATA/revoked-tokens.json`: the operator's token revocations (`TokenRevocations`), written by
/// `vigrelay token revoke` and read by the relay at start and whenever the file changes.
///
/// The file is replaced atomically, so a reader sees the old list or the new one, never half of one.
/// Stateless; the relay reads it on its start-up thread and then on the reader thread.
public enum TokenRevocationFile {
    /// The file inside a data directory.
    public static func path(dataDir: String) -> String { dataDir + "/revoked-tokens.json" }

    /// What the file holds: a version and the entries.
    private struct Stored: Codable {
        var v: Int
        var entries: [TokenRevocations.Entry]
    }

    /// The revocations in `dataDir`; none when the file does not exist.
    /// - Throws: `StorageError.revocationsUnreadable` when it exists and cannot be read or parsed: a
    ///   relay must not run as if nothing were revoked.
    public static func read(dataDir: String) throws -> TokenRevocations {
        let path = path(dataDir: dataDir)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            if !FileManager.default.fileExists(atPath: path) { return TokenRevocations() }
            throw StorageError.revocationsUnreadable(path: path, reason: error.localizedDescription)
        }
        guard let stored = FileIO.decodeJSON(Stored.self, from: [UInt8](data)), stored.v == 1,
              stored.entries.allSatisfy({ Identifiers.isValidPractitionerID($0.id) })
        else {
            throw StorageError.revocationsUnreadable(path: path, reason: "not a revocation list this relay writes ({\"v\":1,\"entries\":[...]})")
        }
        return TokenRevocations(entries: stored.entries)
    }

    /// Adds a revocation (`TokenRevocations.revoke`) to the file in `dataDir`, creating both if need
    /// be, and returns the whole list as written.
    @discardableResult
    public static func revoke(_ kind: TokenRevocations.Kind, id: String, issuedBeforeMs: Int64, dataDir: String) throws -> TokenRevocations {
        try FileIO.makeDirectory(dataDir)
        var revocations = try read(dataDir: dataDir)
        revocations.revoke(kind, id: id, issuedBeforeMs: issuedBeforeMs)
        try FileIO.writeJSON(Stored(v: 1, entries: revocations.entries), pretty: true, to: path(dataDir: dataDir), what: "revocation list")
        return revocations
    }

    /// What changes when the file is replaced (its inode, size and modification time), nil when it
    /// does not exist: the relay reads the file again only when this differs from the last time.
    public static func signature(dataDir: String) -> [Int64]? {
        var info = stat()
        guard stat(path(dataDir: dataDir), &info) == 0 else { return nil }
        return [Int64(info.st_ino), Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
    }
}
