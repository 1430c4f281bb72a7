import Logging
import VigRelayCore
import VigRelayStorage

/// Reads `DATA/revoked-tokens.json` at start, then notices when `vigrelay token revoke` (or the
/// operator) changed it and reads it again: a revocation reaches a running relay within about a
/// second, without a restart.
///
/// Thread: created on the start-up thread; then `changed` on the reader thread only (its jobs run
/// one at a time).
final class RevocationWatch: @unchecked Sendable {
    private let dataDir: String
    private let logger: Logger
    /// The file's signature when it was last read (nil: there was none).
    private var lastSignature: [Int64]?
    /// The revocations read at start.
    let atStart: TokenRevocations

    /// Reads the revocations; one that cannot be read stops the start (the relay must not run as if
    /// nothing were revoked).
    init(dataDir: String, logger: Logger) throws {
        self.dataDir = dataDir
        self.logger = logger
        // The signature first: a change between the two is read again at the first look.
        lastSignature = TokenRevocationFile.signature(dataDir: dataDir)
        atStart = try TokenRevocationFile.read(dataDir: dataDir)
        if !atStart.entries.isEmpty {
            logger.info("token revocations loaded", metadata: ["entries": "\(atStart.entries.count)"])
        }
    }

    /// The revocations when the file changed since the last look, else nil. A file that cannot be
    /// read is logged and the revocations read before stay in force; a file removed lifts them all.
    func changed() -> TokenRevocations? {
        let signature = TokenRevocationFile.signature(dataDir: dataDir)
        guard signature != lastSignature else { return nil }
        lastSignature = signature
        do {
            return try TokenRevocationFile.read(dataDir: dataDir)
        } catch {
            logger.error("token revocations changed but cannot be read; the ones read before stay in force", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
