import Logging
import VigRelayCore
import VigRelayStorage

/// Notices when `vigrelay token revoke` (or the operator) changed `DATA/revoked-tokens.json`, and
/// reads it again: a revocation reaches a running relay within about a second, without a restart.
///
/// Thread: the reader thread only (its jobs run one at a time); created on the start-up thread.
final class RevocationWatch: @unchecked Sendable {
    private let dataDir: String
    private let logger: Logger
    /// The file's signature when it was last read (nil: there was none).
    private var lastSignature: [Int64]?

    /// - Parameter signature: the file's signature taken just before the relay read it at start.
    init(dataDir: String, logger: Logger, signature: [Int64]?) {
        self.dataDir = dataDir
        self.logger = logger
        self.lastSignature = signature
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
