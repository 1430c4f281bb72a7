import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Finds the token-signing secret: an operator's file if given, else `DATA/secret`, made on first use.
///
/// Used at start-up, before the service thread runs.
public enum SecretStore {
    /// The secret file inside a data directory.
    public static func defaultPath(dataDir: String) -> String { dataDir + "/secret" }

    /// Loads the secret from `overridePath`, or from the data directory, creating it there (mode 0600,
    /// 32 random bytes as hex) when absent. The data directory's secret, if others may read it, is
    /// tightened to 0600; a secret file given from elsewhere is the operator's, so one others may
    /// read or write is refused with what to do.
    public static func loadOrCreate(dataDir: String, overridePath: String?) throws -> [UInt8] {
        if let overridePath {
            var info = stat()
            if stat(overridePath, &info) == 0, info.st_mode & 0o077 != 0 {
                throw StorageError.secretTooOpen(path: overridePath, mode: Int(info.st_mode & 0o777))
            }
            return try read(overridePath)
        }
        try FileIO.makeDirectory(dataDir)
        let path = defaultPath(dataDir: dataDir)
        if FileManager.default.fileExists(atPath: path) {
            chmod(path, 0o600)
            return try read(path)
        }
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let hex = secret.map { String(format: "%02x", $0) }.joined() + "\n"
        try FileIO.writeAtomically(Array(hex.utf8), to: path, mode: 0o600)
        return Array(hex.utf8.dropLast())
    }

    private static func read(_ path: String) throws -> [UInt8] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw StorageError.secretUnreadable(path: path, reason: error.localizedDescription)
        }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == 0x0a || last == 0x0d || last == 0x20 { bytes.removeLast() }
        guard bytes.count >= 32 else { throw StorageError.secretTooShort(path: path) }
        return bytes
    }
}
