import CLibWebSockets
import Foundation
import Logging
import VigRelayCore
import VigRelayStorage

/// The lws context and everything it owns: connections, the relay core, the HTTP API.
///
/// Thread: created on the caller's thread, then used only on the service thread that `run()` is
/// called on; lws finds it through the context user pointer. Other threads reach it only through
/// `inbox`.
final class ServiceLoop {
    let configuration: ServerConfiguration
    let logger: Logger
    let core: RelayCore
    let api: HTTPAPI
    let inbox: LoopInbox
    let writer: DiskWriter
    /// The reader thread's job queue (a second `DiskWriter`: an ordered job thread, named
    /// `vigrelay-reader`): summaries, clip plans and download reads, never on this thread.
    let reader: DiskWriter
    let readerWorker: ReaderWorker
    let sessionStore: SessionStore
    let metrics: RelayMetrics

    var context: OpaquePointer?
    /// The TLS vhost's SSL_CTX, from lws as the vhost is made: a certificate reload installs into it.
    var tlsContext: OpaquePointer?
    var webSockets: [ConnectionID: WebSocketConnection] = [:]
    var exchanges: [ConnectionID: HTTPExchange] = [:]
    /// Connections counted per peer address (`ServiceLoop+ConnectionLimit`), by lws connection.
    var connectionQuota: ConnectionQuota
    var connectionPeers: [OpaquePointer: ConnectionPeer] = [:]
    private var nextID: ConnectionID = 0
    /// The last download id given (see `Download.id`).
    var nextDownloadID: UInt64 = 0
    /// Sessions whose recordings the writer is deleting, with how many deletions are queued: their
    /// downloads were cut off, and new ones are refused until the writer is done.
    var deletionsPending: [String: Int] = [:]
    var shuttingDown = false
    private var shutdownDeadline = Date.distantFuture
    /// Set while the context is being destroyed: callbacks then only forget state.
    var destroying = false

    /// One send buffer for the whole thread: a frame's header and first bytes (`writeChunk`), and
    /// behind `LWS_PRE` bytes the control frames and HTTP bodies lws writes.
    let scratch: UnsafeMutableRawPointer
    /// Where `SSL_read` puts what a WebSocket sent (`ServiceLoop+Reading`); apart from `scratch`,
    /// since what is read may be relayed (written) before the rest of it is parsed.
    let receiveBuffer: UnsafeMutableRawPointer
    /// The libev loop under lws, while `run` runs: the WebSockets' own read watchers go on it.
    private(set) var eventLoop: OpaquePointer?
    /// The most one WebSocket frame carries: a whole camera chunk or keyframe usually fits, so it
    /// goes out as one frame. (At 64 KiB, a 64 KiB payload and its 16-byte header went as two frames,
    /// the second a TLS record of its own: about 5% more CPU per GB relayed in bench scenario 1.)
    static let fragmentSize = 256 << 10
    let pre = Int(vr_lws_pre())
    /// How long a connection being closed may take to read what is queued before its close frame.
    static let closeSendNanoseconds: UInt64 = 5_000_000_000

    private var tick: TickTimer?
    /// Hello deadlines of new WebSockets, and the one timer for the oldest (see `DeadlineQueue`).
    var helloDeadlines: DeadlineQueue
    private(set) var helloTimer: TickTimer?
    /// `--retention`, when set, and when its next sweep is due.
    private let retention: RetentionSweep?
    /// `session.jsonl` of each session: joins and leaves are appended on the writer thread.
    let sessionEvents: SessionEventLog
    private var nextRetentionSweep = Date()
    /// Looks for changes to the token revocations (on the reader thread).
    let revocationWatch: RevocationWatch

    let recordingWorker: RecordingWorker
    /// Bytes of recorded media handed to the writer and not yet written.
    private(set) var recordingQueuedBytes = 0
    /// How many may be (`ServerConfiguration.recordingQueueBudget`): counted again from the core's
    /// running recordings every tick, and raised at once by each recording that starts.
    private var recordingQueueBudget: Int
    /// When to give the memory a burst's queues freed back to the kernel (ServiceLoop+FreedMemory.swift).
    var freedMemory = FreedMemoryRelease()
    /// Family connections paused (their read watchers stopped) until the writer catches up.
    private(set) var pausedForDisk: Set<ConnectionID> = []

    init(configuration: ServerConfiguration, logger: Logger, core: RelayCore, api: HTTPAPI,
         inbox: LoopInbox, writer: DiskWriter, reader: DiskWriter, sessionStore: SessionStore, metrics: RelayMetrics,
         revocationWatch: RevocationWatch) {
        self.configuration = configuration
        recordingQueueBudget = configuration.recordingQueueBudget(recordings: core.runningRecordingCount)
        self.logger = logger
        self.core = core
        self.api = api
        self.inbox = inbox
        self.writer = writer
        self.reader = reader
        self.readerWorker = ReaderWorker(dataDir: configuration.dataDir, keyring: configuration.recordingKeyring, inbox: inbox, logger: logger)
        self.sessionStore = sessionStore
        self.metrics = metrics
        self.revocationWatch = revocationWatch
        self.recordingWorker = RecordingWorker(dataDir: configuration.dataDir, quotaBytes: configuration.recordingQuotaBytes,
                                               keyring: configuration.recordingKeyring, inbox: inbox, logger: logger, metrics: metrics, testAppendDelayMs: configuration.testWriterDelayMs)
        self.sessionEvents = SessionEventLog(dataDir: configuration.dataDir)
        self.retention = configuration.limits.retentionSeconds.map {
            RetentionSweep(retentionSeconds: $0, dataDir: configuration.dataDir, logger: logger)
        }
        self.nextRetentionSweep = Date().addingTimeInterval(TimeInterval(retention?.intervalSeconds ?? 0))
        self.connectionQuota = ConnectionQuota(limit: core.limits.maxConnectionsPerAddress)
        self.helloDeadlines = DeadlineQueue(timeoutMicros: Int64(core.limits.helloTimeoutSeconds) * 1_000_000)
        self.scratch = UnsafeMutableRawPointer.allocate(byteCount: Int(vr_lws_pre()) + Self.fragmentSize, alignment: 16)
        self.receiveBuffer = UnsafeMutableRawPointer.allocate(byteCount: Self.receiveBufferBytes, alignment: 16)
    }

    deinit {
        scratch.deallocate()
        receiveBuffer.deallocate()
    }

    /// A new id for a connection; never reused.
    func makeConnectionID() -> ConnectionID {
        nextID += 1
        return nextID
    }

    /// Creates the context, serves until shutdown completes, destroys the context. Blocks.
    func run(creationInfo: inout lws_context_creation_info) throws {
        guard let events = EventLoop() else { throw ServerError.noEventLoop }
        guard let ctx = vr_lws_create_context_on_ev(&creationInfo, events.loop) else {
            events.destroy()
            throw ServerError.cannotListen(host: configuration.host, port: configuration.port)
        }
        context = ctx
        eventLoop = events.loop
        inbox.open(context: ctx)
        let tick = TickTimer(owner: self)
        self.tick = tick
        tick.schedule(context: ctx, afterMicroseconds: 1_000_000)
        helloTimer = TickTimer(owner: self, purpose: .helloDeadline)
        logger.info("vigrelay listening", metadata: ["url": "\(configuration.effectivePublicURL)", "data.dir": "\(configuration.dataDir)",
                                                     "event.loop": "libev \(events.backendName)"])
        while !(shuttingDown && (webSockets.isEmpty || Date() >= shutdownDeadline)) {
            events.runOnce()
        }
        if !webSockets.isEmpty {
            logger.warning("closing connections that did not finish closing in time", metadata: ["count": "\(webSockets.count)"])
        }
        let worker = recordingWorker
        writer.submit { worker.finishAll() }
        let readWorker = readerWorker
        reader.submit { readWorker.finishAll() }
        inbox.close()
        destroying = true
        lws_context_destroy(ctx)
        eventLoop = nil
        events.destroy()
        context = nil
        tick.release()
        self.tick = nil
        helloTimer?.release()
        helloTimer = nil
    }

    /// Periodic wake-up: drains the inbox and, while shutting down, checks the deadline.
    func onTick() {
        drainInbox()
        sweepConnections()
        core.expireStaleCaches()
        perform(core.expireGracePeriods())
        recordingQueueBudget = configuration.recordingQueueBudget(recordings: core.runningRecordingCount)
        resumeIfDrained()
        let worker = recordingWorker
        writer.submit {
            worker.syncDue()
            worker.measureDiskSpace()
        }
        sweepRetentionIfDue()
        if !shuttingDown { watchRevocations() }
        releaseFreedMemoryAfterBursts(sendQueued: sendQueuedBytes)
        guard let context, let tick else { return }
        tick.schedule(context: context, afterMicroseconds: shuttingDown ? 100_000 : 1_000_000)
    }

    /// Starts a retention sweep when one is due: the reader thread finds the sessions whose
    /// recordings are due (`retentionDue` comes back), then the writer deletes each as `retentionDue`
    /// says. The scan reads every session's record and log (about 0.6 s for 5,000 sessions in a
    /// debug build): on the writer it would hold back every recording's appends that long.
    private func sweepRetentionIfDue() {
        guard let retention, !shuttingDown, Date() >= nextRetentionSweep else { return }
        nextRetentionSweep = Date().addingTimeInterval(TimeInterval(retention.intervalSeconds))
        let inbox = self.inbox
        reader.submit { inbox.post(.retentionDue(retention.dueSessions(now: Date()))) }
    }

    /// Deletes the recordings of sessions found due, as any deletion (`submitDeletion`: downloads
    /// stopped and fenced first). Sessions of a case in use now, with someone connected to one of
    /// its sessions or a download running, are left alone (the next sweep tries again); the writer
    /// checks each is still due. Deletions come back as `recordingsDeleted`, like a consent withdrawal.
    private func deleteForRetention(_ due: [RecordingStore.RetentionDue]) {
        guard let retention else { return }
        let inUse = core.sessionsWithConnections.union(sessionsWithDownloads), inbox = self.inbox
        for entry in due where inUse.isDisjoint(with: entry.caseSessionIDs) {
            let sid = entry.sessionID
            submitDeletion(sessionID: sid) {
                let ids = retention.delete(entry, now: Date())
                if !ids.isEmpty { inbox.post(.recordingsDeleted(sessionID: sid, recordingIDs: ids, afterWithdrawal: false)) }
            }
        }
    }

    /// Handles everything other threads posted.
    func drainInbox() {
        collectDrained()
        for event in inbox.drain() {
            switch event {
            case .shutdown:
                beginShutdown()
            case .reloadCertificate:
                reloadCertificate()
            case .certificateLoaded(let result):
                certificateLoaded(result)
            case .sessionPersisted(let conn, let record, let response, let failure):
                var response = response
                if let failure {
                    core.removeSession(id: record.id)
                    logger.error("could not save new session", metadata: ["session.id": "\(record.id)", "error": "\(failure)"])
                    response = .error(500, .internalError, "the session could not be saved on the server; try again, and tell the operator if it persists")
                } else {
                    metrics.sessionsCreated.increment()
                    logger.info("session created", metadata: ["session.id": "\(record.id)", "practitioner.id": "\(record.owner)"])
                }
                respond(conn, response)
            case .inviteSaved(let conn, let sessionID, let saved, let response):
                inviteSaved(conn, sessionID, saved, response)
            case .labelsSaved(let conn, let sessionID, let saved):
                labelsSaved(conn, sessionID, saved)
            case .recordingStopped(let sid, let manifest):
                perform(core.recordingStopped(sessionID: sid, recordingID: manifest.recordingId, bytes: manifest.bytes,
                                              frames: manifest.frames, durationMs: manifest.durationMs))
            case .markChanged(let sid, let rid, let markID, let edit, let replyID, let outcome):
                perform(core.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: edit, replyID: replyID, outcome: outcome))
            case .recordingsDeletionFailed(let sid):
                perform(core.recordingsDeletionFailed(sessionID: sid))
                for waiter in core.takeWithdrawalWaiters(sessionID: sid) {
                    respond(waiter, .error(500, .internalError,
                        "the recordings could not all be deleted (a disk error on the relay); consent is withdrawn and nothing more is recorded; send the withdrawal again to retry"))
                }
            case .revocationsChanged(let revocations):
                applyRevocations(revocations)
            case .retentionDue(let due):
                deleteForRetention(due)
            case .recordingsDeleted(let sid, let ids, let afterWithdrawal):
                metrics.countDeleted(ids.count, afterWithdrawal ? .withdrawal : .retention)
                // Its downloads were cut off when the deletion was submitted (`submitDeletion`).
                if afterWithdrawal {
                    perform(core.withdrawalDeleted(sessionID: sid, recordingIDs: ids))
                    for waiter in core.takeWithdrawalWaiters(sessionID: sid) { respond(waiter, .json(200, ["deleted": ids.sorted()])) }
                } else {
                    perform(core.recordingsDeleted(sessionID: sid, recordingIDs: ids))
                }
            case .recordingFailed(let sid, let rid, let reason):
                perform(core.recordingFailed(sessionID: sid, recordingID: rid, reason: reason))
            case .diskSpaceMeasured(let bytes):
                diskSpaceMeasured(availableBytes: bytes)
            case .respond, .downloadHead, .downloadChunk, .downloadFailed, .clipPlanned, .familyCopyChanged, .familyCopyFetched, .deletionFinished,
                 .recordingsDeletedOnRequest:
                recordingRequestEvent(event)
            }
        }
    }

    private func beginShutdown() {
        guard !shuttingDown else { return }
        shuttingDown = true
        shutdownDeadline = Date().addingTimeInterval(TimeInterval(configuration.shutdownGraceSeconds))
        logger.info("shutting down: closing connections with 1001", metadata: ["connections": "\(webSockets.count)"])
        perform(core.shutdown())
        if let context, let tick { tick.schedule(context: context, afterMicroseconds: 100_000) }
    }

    /// Carries out the core's decisions in order.
    func perform(_ actions: [RelayAction]) {
        for action in actions {
            switch action {
            case .send(let id, let message):
                guard let conn = webSockets[id] else { continue }
                if let code = message.errorCode { metrics.countError(code) }
                let wasEmpty = conn.outbound.isEmpty
                let outcome = conn.outbound.enqueue(message)
                if let media = message.media { metrics.countMedia(stream: media.stream, bytes: message.bytes.count, outcome) }
                switch outcome {
                case .resumed(let frames):
                    logger.notice("slow viewer: skipped frames to the next start point", metadata: [
                        "conn.id": "\(id)", "frames": "\(frames)", "stream": "\(message.media?.stream ?? 0)",
                        "skipped.total": "\(conn.outbound.skippedTotal)"])
                case .overLimit:
                    metrics.sendQueueFullCloses.increment()
                    logger.notice("closing a connection that does not read: its send queue is full", metadata: [
                        "conn.id": "\(id)", "queued.bytes": "\(conn.outbound.queuedBytes)", "limit.bytes": "\(conn.outbound.hardLimitBytes)"])
                    closeNow(conn, code: RelayCloseCode.policyViolation, reason: "send queue full: the connection does not read")
                    continue
                case .queued, .skipped:
                    break
                }
                if wasEmpty, message.media != nil { sendNow(conn) } else { lws_callback_on_writable(conn.wsi) }
            case .close(let id, let code, let reason):
                guard let conn = webSockets[id], conn.pendingClose == nil else { continue }
                conn.pendingClose = (code, reason)
                // A peer that never reads must not hold the connection open forever: the tick's
                // sweep cuts it off (not an lws timeout: see `Keepalive` on lws's timer list).
                conn.closeDeadline = Self.monotonicNanos() + Self.closeSendNanoseconds
                lws_callback_on_writable(conn.wsi)
            case .catchUp(let id, let stream, let starts):
                guard let conn = webSockets[id] else { continue }
                guard let dropped = conn.outbound.catchUp(stream: stream.rawValue, viewerStarts: starts) else {
                    logger.debug("viewer asked to catch up with a stream that has ended: ignored", metadata: ["conn.id": "\(id)"])
                    continue
                }
                metrics.countCaughtUp(stream: stream, dropped: dropped)
                logger.log(level: dropped > 0 ? .info : .debug, "viewer asked to catch up: dropped queued frames", metadata: [
                    "conn.id": "\(id)", "frames": "\(dropped)", "stream": "\(stream.rawValue)", "queued.bytes": "\(conn.outbound.queuedBytes)"])
                if !conn.outbound.isEmpty { lws_callback_on_writable(conn.wsi) }
            case .event(let event):
                log(event)
            case .recording(let command):
                submitRecording(command)
                if case .consent(let sessionID, _, _, _, _) = command { cutOffSupervisorDownloads(sessionID: sessionID) }
            }
        }
    }

    /// Hands a recording command to the writer thread. Media counts against a byte budget: past it
    /// the family's connection stops being read (its read watcher stopped) until the writer catches up,
    /// so recorded data is never dropped and memory stays bounded.
    private func submitRecording(_ command: RecordingCommand) {
        let worker = recordingWorker
        switch command {
        case .append(let sid, let chunk):
            let bytes = chunk.bytes.count
            collectDrained()
            recordingQueuedBytes += bytes
            if recordingQueuedBytes > recordingQueueBudget,
               let family = core.connection(of: sid, role: .family), let conn = webSockets[family],
               pausedForDisk.insert(family).inserted {
                setReading(conn, false)
                metrics.diskPauses.increment()
                logger.notice("disk is behind: pausing the camera sender", metadata: ["session.id": "\(sid)", "queued.bytes": "\(recordingQueuedBytes)", "budget.bytes": "\(recordingQueueBudget)"])
                collectDrained()  // from now on the writer's drains wake this thread
            }
            writer.submitBatched(bytes: bytes) { worker.run(command, queuedBytes: bytes) }
        case .deleteAll(let sid), .deleteAllOnRequest(let sid, _):
            submitDeletion(sessionID: sid) { worker.run(command, queuedBytes: 0) }
        case .start:
            metrics.recordingsStarted.increment()
            recordingQueueBudget += configuration.recordingQueueBytesPerRecording
            writer.submit { worker.run(command, queuedBytes: 0) }
        default:
            writer.submit { worker.run(command, queuedBytes: 0) }
        }
    }

    /// Counts the media the writer has finished since last time and resumes paused senders once it
    /// has caught up. The writer's drains wake this thread only while a sender is paused.
    private func collectDrained() {
        recordingQueuedBytes -= inbox.takeDrainedBytes(thenWakeOnDrain: !pausedForDisk.isEmpty)
        resumeIfDrained()
    }

    private func resumeIfDrained() {
        guard !pausedForDisk.isEmpty, recordingQueuedBytes <= recordingQueueBudget / 2 else { return }
        for id in pausedForDisk {
            if let conn = webSockets[id], !conn.closeNow, !conn.hungUp { setReading(conn, true) }
        }
        pausedForDisk.removeAll()
    }

    /// Logs a session event in the server log and, for a session's own happenings (not refusals, which
    /// may name sessions that do not exist), in its `session.jsonl` on the writer thread.
    private func log(_ event: SessionEvent) {
        if event.kind != .refused {
            var fields: [String: any Sendable] = [:]
            if event.kind != .held { fields["connection"] = Int(event.connection) }
            if let role = event.role { fields["role"] = role.rawValue }
            // Stamped here, as it happens, not when the writer gets to it.
            let events = sessionEvents, logger = self.logger, logged = fields, at = event.at ?? Date()
            writer.submit { events.append(sessionID: event.sessionID, event: event.kind.rawValue, fields: logged, at: at, orLogTo: logger) }
        }
        var metadata: Logger.Metadata = ["session.id": "\(event.sessionID)", "conn.id": "\(event.connection)"]
        if let role = event.role { metadata["peer.role"] = "\(role.rawValue)" }
        if let code = event.code { metadata["error.code"] = "\(code.rawValue)" }
        switch event.kind {
        case .refused: logger.notice("connection refused", metadata: metadata)
        case .held: logger.info("session held: the family and the practitioner are both in", metadata: metadata)
        default: logger.info("peer \(event.kind.rawValue)", metadata: metadata)
        }
    }
}

/// Errors starting the server; each says what to do.
public enum ServerError: Error, CustomStringConvertible {
    case cannotListen(host: String, port: Int)
    case noEventLoop

    public var description: String {
        switch self {
        case .cannotListen(let host, let port):
            return "could not start listening on \(host):\(port) (address in use, or libwebsockets' libev plugin is missing: apt-get install libwebsockets-evlib-ev?); pick another --listen or stop the other server"
        case .noEventLoop:
            return "libev could not make an event loop (out of file descriptors or memory?); check ulimit -n and try again"
        }
    }
}
