import CLibWebSockets
import CLinuxIO
import Foundation
import Logging
import VigRelayCore
import VigRelayStorage
#if canImport(Glibc)
import Glibc
#endif

/// The vigrelay server: loads the secret and sessions, runs the lws service thread and the disk
/// writer, and stops gracefully on `requestShutdown()`.
///
/// Thread-safe: `run()` blocks the calling thread; `requestShutdown()` may be called from any thread.
public final class RelayServer: Sendable {
    public let configuration: ServerConfiguration
    private let logger: Logger
    private let inbox = LoopInbox()
    private let secret: [UInt8]
    private let sessions: [SessionRecord]
    /// Consent and recording ids of the previous run, given to the core before it serves.
    private let restoredRecording: [PersistedRecordingState]
    /// The web app, read from disk here once; empty when there is none.
    private let site: WebSite
    /// `GET /metrics`' counters, from before the deletions at start.
    private let metrics: RelayMetrics
    /// The operator's token revocations, read at start and watched while serving.
    private let revocationWatch: RevocationWatch
    /// Space left on the data directory's file system at start (nil: it could not be measured).
    private let availableAtStart: Int64?
    /// This relay's hold on its data directory, for as long as it runs.
    private let dataDirectoryLock: DataDirectoryLock

    /// Checks the certificate and key, loads (or creates) the secret and loads stored sessions.
    public init(configuration: ServerConfiguration, secretFile: String?, logger: Logger) throws {
        // lws reads them again as it makes the vhost; this says first, and clearly, what is wrong.
        let certificate = try ServingCertificate.load(certPath: configuration.certPath, keyPath: configuration.keyPath)
        self.configuration = configuration
        self.logger = logger
        // Before anything in the data directory is read or written (recovery would cut the running
        // recordings of a relay already using it).
        self.dataDirectoryLock = try DataDirectoryLock.acquire(dataDir: configuration.dataDir)
        try RecordingKeyMark.check(dataDir: configuration.dataDir, keyring: configuration.recordingKeyring)
        if let keyring = configuration.recordingKeyring {
            logger.info("recordings are encrypted at rest, each under its own data key wrapped by the recording key (--recording-key); keep that key safe and apart from the data directory: without it no recording can be read",
                        metadata: ["recording.key.id": "\(keyring.keyID)"])
        } else {
            logger.notice("recordings are written unencrypted (no --recording-key): keep the data directory on an encrypted disk")
        }
        let metrics = RelayMetrics(startedAt: Date())
        self.metrics = metrics
        metrics.certificateServed(certificate)
        do {
            try certificate.checkValid(at: Date())
            logger.info("TLS certificate", metadata: certificate.logMetadata)
            certificate.warnIfExpiringSoon(logger)
        } catch {
            logger.warning("TLS certificate cannot be trusted now: \(error), then send SIGHUP", metadata: certificate.logMetadata)
        }
        self.secret = try SecretStore.loadOrCreate(dataDir: configuration.dataDir, overridePath: secretFile)
        self.revocationWatch = try RevocationWatch(dataDir: configuration.dataDir, logger: logger)
        self.sessions = try SessionStore(dataDir: configuration.dataDir).loadAll(logger: logger)
        // Before any connection: recordings a crash left open are cut to their last cluster.
        let recovered = RecordingRecovery.recover(dataDir: configuration.dataDir, now: Date(),
                                                  keyring: configuration.recordingKeyring, logger: logger)
        for manifest in recovered {
            logger.notice("recovered an interrupted recording", metadata: ["session.id": "\(manifest.sessionId)",
                          "recording.id": "\(manifest.recordingId)", "bytes": "\(manifest.bytes)"])
        }
        if let seconds = configuration.limits.retentionSeconds {
            logger.info("retention: a case's recordings and clips are deleted once its last session ended more than \(seconds) s ago",
                        metadata: ["retention.seconds": "\(seconds)"])
            let deleted = RetentionSweep(retentionSeconds: seconds, dataDir: configuration.dataDir, logger: logger).runAll(now: Date())
            metrics.countDeleted(deleted, .retention)
        } else {
            logger.notice("retention off (--retention keep): recordings are kept until consent is withdrawn or the practitioner deletes them")
        }
        if configuration.limits.familyCopies {
            logger.notice("family copies on (--family-copies): practitioners may give a family a copy of a clip, which leaves the service for the family's device once saved")
        }
        metrics.minFreeSpaceBytes.set(configuration.limits.minFreeSpaceBytes)
        do {
            let available = try DataDiskSpace.availableBytes(dataDir: configuration.dataDir)
            availableAtStart = available
            logger.info("space for recordings: a recording starts while the data directory's file system has at least --min-free-space left",
                        metadata: ["available.bytes": "\(available)", "min.free.bytes": "\(configuration.limits.minFreeSpaceBytes)"])
        } catch {
            availableAtStart = nil
            logger.warning("cannot measure the space left for recordings; recordings start until a measurement says it is low", metadata: ["error": "\(error)"])
        }
        // After recovery (manifests are final now): consent and recordings carried over the restart.
        self.restoredRecording = Self.finishingWithdrawals(
            PersistedRecordingState.load(dataDir: configuration.dataDir, sessionIDs: sessions.map(\.id), logger: logger),
            dataDir: configuration.dataDir, logger: logger, metrics: metrics)
        logger.info("sessions loaded", metadata: ["count": "\(sessions.count)",
                    "with.consent": "\(restoredRecording.filter(\.consent).count)"])
        if let webDir = configuration.webDir {
            self.site = try WebSiteLoader.load(directory: webDir, webSocketOrigin: Self.webSocketOrigin(configuration.effectivePublicURL))
            logger.info("web app loaded", metadata: ["web.dir": "\(webDir)", "files": "\(site.assets.count)"])
        } else {
            self.site = WebSite()
            logger.warning("no web app found (web/ next to the executable or --web-dir): / and /join answer 404")
        }
        if configuration.testWriterDelayMs > 0 {
            logger.warning("TEST HOOK: the disk writer sleeps before every recording append (VIGRELAY_TEST_WRITER_DELAY_MS); never use this in production",
                           metadata: ["delay.ms": "\(configuration.testWriterDelayMs)"])
        }
    }

    /// Deletes the recordings of sessions whose family withdrew consent but whose deletion did not
    /// finish (a crash or a disk error came between), before the server listens; returns the states
    /// with those recordings gone (or, if deleting fails again, kept and logged: the family's next
    /// withdrawal retries).
    private static func finishingWithdrawals(_ states: [PersistedRecordingState], dataDir: String, logger: Logger,
                                             metrics: RelayMetrics) -> [PersistedRecordingState] {
        let store = RecordingStore(dataDir: dataDir), events = SessionEventLog(dataDir: dataDir)
        return states.map { state in
            guard state.withdrawalUnfinished else { return state }
            let meta: Logger.Metadata = ["session.id": "\(state.sessionID)", "recording.ids": "\(state.recordingIDs.joined(separator: ","))"]
            do {
                let ids = try store.deleteAll(sessionID: state.sessionID, at: Date())
                events.append(sessionID: state.sessionID, event: "recordings_deleted",
                              fields: ["recordingIds": ids.sorted(), "reason": PersistedRecordingState.withdrawalReason], orLogTo: logger)
                logger.notice("deleted the recordings of a withdrawal that had not finished before the server stopped", metadata: meta)
                metrics.countDeleted(ids.count, .withdrawal)
                var done = state
                done.recordingIDs = []
                done.withdrawalUnfinished = false
                return done
            } catch {
                logger.error("could not delete the recordings of a withdrawn consent; the family's next withdrawal tries again",
                             metadata: meta.merging(["error": "\(error)"]) { $1 })
                return state
            }
        }
    }

    /// Asks the server to stop: connections are closed with 1001, then `run()` returns.
    public func requestShutdown() { inbox.post(.shutdown) }

    /// Asks the server to read its certificate and key again (SIGHUP, after a renewal): new
    /// connections get them, open ones go on as they were. A pair that cannot be served is logged and
    /// the one in use stays.
    public func requestCertificateReload() { inbox.post(.reloadCertificate) }

    /// Serves until shutdown. Returns once every connection is closed (or the grace period passed)
    /// and the disk writer has finished its queue.
    public func run() throws {
        raiseOpenFileLimit()
        let writer = DiskWriter()
        writer.start()
        defer { writer.stop() }
        let reader = DiskWriter(name: "vigrelay-reader")
        reader.start()
        defer { reader.stop() }
        let authority = TokenAuthority(secret: secret)
        let core = RelayCore(limits: configuration.limits, authority: authority, sessions: sessions, revocations: revocationWatch.atStart)
        for state in restoredRecording {
            core.restoreRecording(sessionID: state.sessionID, consent: state.consent, childAgreed: state.childAgreed,
                                  supervisorMayView: state.supervisorMayView, recordingIDs: state.recordingIDs)
        }
        let api = HTTPAPI(authority: authority, limits: configuration.limits, publicURL: configuration.effectivePublicURL, site: site)
        let loop = ServiceLoop(configuration: configuration, logger: logger, core: core, api: api, inbox: inbox,
                               writer: writer, reader: reader, sessionStore: SessionStore(dataDir: configuration.dataDir), metrics: metrics,
                               revocationWatch: revocationWatch)
        if let availableAtStart { loop.diskSpaceMeasured(availableBytes: availableAtStart) }
        let result = ServiceThreadResult()
        let done = DispatchSemaphore(value: 0)
        // The loop object is handed to the service thread and used only there from now on.
        nonisolated(unsafe) let handedOver = loop
        let thread = Thread { [configuration] in
            _ = vr_name_thread("vigrelay-lws")
            do {
                try LwsContextSettings(configuration: configuration).withCreationInfo(owner: handedOver) { info in
                    try handedOver.run(creationInfo: &info)
                }
            } catch {
                result.set(error)
            }
            OpenSSLThread.stop()  // before `run` returns: the process exits right after
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        if let error = result.error { throw error }
        logger.info("stopped")
    }

    /// `wss://host[:port]` of an `https://` public URL, for the pages' `connect-src`.
    static func webSocketOrigin(_ publicURL: String) -> String? {
        guard let url = URL(string: publicURL), url.scheme == "https", let host = url.host else { return nil }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "wss://" + hostPart + (url.port.map { ":\($0)" } ?? "")
    }

    private func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let before = limit.rlim_cur
        guard limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            logger.info("raised open-file limit", metadata: ["from": "\(before)", "to": "\(limit.rlim_cur)"])
        } else {
            logger.warning("could not raise open-file limit; connections are capped near it", metadata: ["limit": "\(before)"])
        }
    }
}

/// Carries an error out of the service thread. `lock` guards `stored`.
private final class ServiceThreadResult: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Error?
    func set(_ error: Error) { lock.lock(); stored = error; lock.unlock() }
    var error: Error? { lock.lock(); defer { lock.unlock() }; return stored }
}
