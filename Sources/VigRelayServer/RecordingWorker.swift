import Foundation
import Logging
import VigRelayCore
import VigRelayStorage

/// Carries out `RecordingCommand`s on the disk writer thread: open, append, sync, stop, delete,
/// and the session event log. Reports back to the service thread through the inbox.
///
/// Events it logs in `session.jsonl` besides `consent` and `mark`: `recording_started`,
/// `recording_paused` / `recording_resumed` (the family left / came back within the grace,
/// `awayMs`), `recording_unattended` / `recording_attended` (the same for the practitioner),
/// `recording_part` (a restarted camera stream opened part N at `startMs` of the recording's
/// timeline), `recording_stopped` (with `reason` and `role` when the grace expired),
/// `recording_failed`, `recordings_deleted`, `mark_removed` (the practitioner removed a mark).
///
/// Thread: every method runs on the disk writer thread (submitted as `DiskWriter` jobs); it is
/// `@unchecked Sendable` only so the jobs can carry it there. Nothing else touches `open`.
final class RecordingWorker: @unchecked Sendable {
    private let dataDir: String
    private let inbox: LoopInbox
    private let logger: Logger
    private let events: SessionEventLog
    private let markNotes: MarkNotes
    private let store: RecordingStore
    private let quotaBytes: Int64?
    /// Encrypts new recordings when set (`--recording-key`).
    private let keyring: RecordingKeyring?
    private let metrics: RelayMetrics
    /// Test hook (`ServerConfiguration.testWriterDelayMs`): microseconds to sleep before each append.
    private let appendDelayMicroseconds: UInt32
    /// Recordings being written, by recording id.
    private var open: [String: RecordingFile] = [:]
    /// Syncs them, together, once a second.
    private let syncer = RecordingSyncer(startedAt: Date())
    /// When a slow sync was last logged (at most one warning a minute).
    private var slowSyncLoggedAt = Date.distantPast
    /// When a failure to measure the data directory's space was last logged (at most one a minute).
    private var spaceUnknownLoggedAt = Date.distantPast

    init(dataDir: String, quotaBytes: Int64?, keyring: RecordingKeyring?, inbox: LoopInbox, logger: Logger,
         metrics: RelayMetrics, testAppendDelayMs: Int = 0) {
        self.dataDir = dataDir
        self.quotaBytes = quotaBytes
        self.keyring = keyring
        self.metrics = metrics
        self.appendDelayMicroseconds = UInt32(clamping: max(0, testAppendDelayMs) * 1000)
        self.inbox = inbox
        self.logger = logger
        self.events = SessionEventLog(dataDir: dataDir)
        self.markNotes = MarkNotes(dataDir: dataDir)
        self.store = RecordingStore(dataDir: dataDir)
    }

    /// Runs one command. `bytes` is what the service thread counted against the writer queue.
    func run(_ command: RecordingCommand, queuedBytes: Int) {
        defer { if queuedBytes > 0 { inbox.recordingDrained(bytes: queuedBytes) } }
        let now = Date()
        switch command {
        case .consent(let sid, let recording, let childAgreed, let supervisorMayView, let reason):
            var fields: [String: any Sendable] = ["recording": recording, "childAgreed": childAgreed, "supervisorMayView": supervisorMayView]
            if let reason { fields["reason"] = reason }
            log(sid, "consent", fields)
        case .supervisorDownload(let sid, let supervisor, .recording(let rid, let part)):
            log(sid, "supervisor_download", ["supervisor": supervisor, "recordingId": rid, "part": part])
        case .supervisorDownload(let sid, let supervisor, .clip(let cid)), .supervisorDownload(let sid, let supervisor, .familyCopy(let cid)):
            log(sid, "supervisor_download", ["supervisor": supervisor, "clipId": cid])
        case .supervisorDownload(let sid, let supervisor, .excerpt(let rid, let fromMs, let toMs)):
            log(sid, "supervisor_download", ["supervisor": supervisor, "recordingId": rid, "fromMs": fromMs, "toMs": toMs])
        case .familyCopyDownload(let sid, let cid):
            log(sid, "family_copy_downloaded", ["clipId": cid])
            inbox.post(.familyCopyFetched(sessionID: sid, clipID: cid))  // told once the summary can show it
        case .start(let sid, let rid):
            do {
                open[rid] = try RecordingFile(dataDir: dataDir, sessionID: sid, recordingID: rid, startedAt: now, quotaBytes: quotaBytes, keyring: keyring)
                log(sid, "recording_started", ["recordingId": rid])
            } catch {
                failed(sid, rid, "\(error)")
            }
        case .append(let sid, let chunk):
            guard let file = open[chunk.recordingID] else { return }
            if appendDelayMicroseconds > 0 { usleep(appendDelayMicroseconds) }
            do {
                try file.append(payload: chunk.bytes, mediaTimeUs: chunk.mediaTimeUs, sequence: chunk.sequence, flags: chunk.flags,
                                clusters: chunk.clusters.map { (Int($0.offsetInChunk), $0.timeMs, $0.keyframe) },
                                newPart: chunk.newPart, lastBlockMs: chunk.lastBlockMs,
                                completeEnd: chunk.completeEnd.map { ($0.offsetInChunk, $0.lastBlockMs) }, at: now)
                metrics.recordedBytes.increment(by: Int64(chunk.bytes.count))
                if chunk.newPart, let part = file.manifest.parts.last, part.number > 1 {
                    log(sid, "recording_part", ["recordingId": chunk.recordingID, "part": part.number, "startMs": part.startMs])
                }
            } catch {
                let manifest = file.fail(reason: "\(error)", at: now)
                open[chunk.recordingID] = nil
                failed(sid, chunk.recordingID, "\(error)", manifest: manifest)
            }
            syncDue(now: now)
        case .stop(let sid, let rid, let reason):
            guard let file = open.removeValue(forKey: rid) else { return }
            do {
                let manifest = try file.finish(at: now)
                var fields = Self.stoppedFields(manifest)
                if let text = reason.text { fields["reason"] = text }
                if case .graceExpired(let role) = reason { fields["role"] = role.rawValue }
                log(sid, "recording_stopped", fields)
                inbox.post(.recordingStopped(sessionID: sid, manifest: manifest))
            } catch {
                failed(sid, rid, "\(error)", manifest: file.fail(reason: "\(error)", at: now))
            }
        case .deleteAll(let sid):
            do {
                let ids = try deleteAll(sid, reason: PersistedRecordingState.withdrawalReason, at: now)
                inbox.post(.recordingsDeleted(sessionID: sid, recordingIDs: ids, afterWithdrawal: true))
            } catch {
                logger.error("could not delete every recording file", metadata: ["session.id": "\(sid)", "error": "\(error)"])
                inbox.post(.recordingsDeletionFailed(sessionID: sid))
            }
        case .deleteAllOnRequest(let sid, let requester):
            do {
                let ids = try deleteAll(sid, reason: "request", at: now)
                inbox.post(.recordingsDeletedOnRequest(requester, sessionID: sid, recordingIDs: ids, failure: nil))
            } catch {
                inbox.post(.recordingsDeletedOnRequest(requester, sessionID: sid, recordingIDs: [], failure: "\(error)"))
            }
        case .mark(let sid, let rid, let markID, let atMs, let note, let replyID):
            let outcome = saveMark(sid, rid, markID, atMs, note, at: now)
            inbox.post(.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .made, replyID: replyID, outcome: outcome))
        case .unmark(let sid, let rid, let markID, let replyID):
            let outcome = removeMark(sid, rid, markID, at: now)
            inbox.post(.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .removed, replyID: replyID, outcome: outcome))
        case .renote(let sid, let rid, let markID, let note, let replyID):
            let outcome = renote(sid, rid, markID, note, at: now)
            inbox.post(.markChanged(sessionID: sid, recordingID: rid, markID: markID, edit: .renoted, replyID: replyID, outcome: outcome))
        case .away(let sid, let rid, let role):
            log(sid, role == .family ? "recording_paused" : "recording_unattended", ["recordingId": rid, "role": role.rawValue])
        case .back(let sid, let rid, let role, let awayMs):
            log(sid, role == .family ? "recording_resumed" : "recording_attended", ["recordingId": rid, "role": role.rawValue, "awayMs": awayMs])
        }
    }

    /// A new mark: its note beside the recording (deleted with it), then the `mark` event (ids and
    /// time only; the kept log never holds a note). A mark the relay accepted just before it learned
    /// the recording was deleted (this queue ran the deletion first) is not kept: its note would
    /// outlive the recording.
    private func saveMark(_ sid: String, _ rid: String, _ markID: String, _ atMs: Int64, _ note: String, at now: Date) -> MarkChange {
        guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted else {
            logger.info("a mark of a deleted recording was dropped", metadata: ["session.id": "\(sid)", "recording.id": "\(rid)"])
            return .notFound
        }
        do {
            try markNotes.append(sessionID: sid, recordingID: rid, markID: markID, note: note, seal: NoteSeal.of(manifest, keyring: keyring))
            try events.append(sessionID: sid, event: "mark", fields: ["recordingId": rid, "markId": markID, "atMs": atMs], at: now)
            return .done
        } catch {
            logger.error("could not save a mark", metadata: ["session.id": "\(sid)", "recording.id": "\(rid)", "error": "\(error)"])
            return .failed
        }
    }

    /// Logs `mark_removed` and erases the mark's note, in that order: the summary stops listing the
    /// mark with the log line, and a note left behind by a failure in between is erased when the
    /// practitioner removes the mark again. A mark counts as there while its `mark` event is newer
    /// than any `mark_removed` of it, or its note is still on disk.
    private func removeMark(_ sid: String, _ rid: String, _ markID: String, at now: Date) -> MarkChange {
        guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted else { return .notFound }
        let logged = markIsLogged(sid, rid, markID)
        do {
            if logged { try events.append(sessionID: sid, event: "mark_removed", fields: ["recordingId": rid, "markId": markID], at: now) }
            let erased = try markNotes.remove(sessionID: sid, recordingID: rid, markID: markID)
            return logged || erased ? .done : .notFound
        } catch {
            logger.error("could not remove a mark", metadata: ["session.id": "\(sid)", "recording.id": "\(rid)", "error": "\(error)"])
            return .failed
        }
    }

    /// Whether the mark's newest `mark` or `mark_removed` in the session's log (read backwards) is `mark`.
    private func markIsLogged(_ sid: String, _ rid: String, _ markID: String) -> Bool {
        let last = events.lastEvent(namedAnyOf: ["mark", "mark_removed"], sessionID: sid) {
            $0["markId"] as? String == markID && $0["recordingId"] as? String == rid
        }
        return last.event?["event"] as? String == "mark"
    }

    /// Gives a mark a new note (sealed, on an encrypted recording, as when it was made) in place of
    /// the old one, and logs `mark_noted` (ids only). The mark must be there: its `mark` event newer
    /// than any `mark_removed` of it.
    private func renote(_ sid: String, _ rid: String, _ markID: String, _ note: String, at now: Date) -> MarkChange {
        guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted else { return .notFound }
        guard markIsLogged(sid, rid, markID) else { return .notFound }
        do {
            try markNotes.replace(sessionID: sid, recordingID: rid, markID: markID, note: note, seal: NoteSeal.of(manifest, keyring: keyring), at: now)
        } catch {
            logger.error("could not change a mark's note", metadata: ["session.id": "\(sid)", "recording.id": "\(rid)", "error": "\(error)"])
            return .failed
        }
        log(sid, "mark_noted", ["recordingId": rid, "markId": markID])
        return .done
    }

    /// Ends the session's open recordings, deletes every recording and clip file and logs
    /// `recordings_deleted` with `reason`; returns the ids marked deleted.
    private func deleteAll(_ sid: String, reason: String, at now: Date) throws -> [String] {
        for (rid, file) in open where file.manifest.sessionId == sid {
            _ = file.fail(reason: reason, at: now)
            open[rid] = nil
        }
        let ids = try store.deleteAll(sessionID: sid, at: now)
        log(sid, "recordings_deleted", ["recordingIds": ids.sorted(), "reason": reason])
        return ids
    }

    /// Saves a planned clip's record and logs `clip_created` (ids and times, not the note); answers
    /// 201, or 404 when the recording was deleted since the clip was planned.
    func saveClip(_ record: ClipRecord, replyTo conn: ConnectionID) {
        let sid = record.sessionId
        do {
            guard try store.saveClip(record, keyring: keyring) else {
                inbox.post(.respond(conn, RecordingRequestError.recordingNotFound.response))
                return
            }
        } catch {
            logger.error("could not save a clip", metadata: ["session.id": "\(sid)", "error": "\(error)"])
            inbox.post(.respond(conn, .error(500, .internalError, "the clip could not be saved on the server; try again, and tell the operator if it persists")))
            return
        }
        log(sid, "clip_created", ["clipId": record.clipId, "recordingId": record.recordingId, "part": record.part,
                                  "fromMs": record.fromMs, "toMs": record.toMs,
                                  "actualFromMs": record.actualFromMs, "actualToMs": record.actualToMs, "bytes": record.bytes])
        inbox.post(.respond(conn, .json(201, ["clipId": record.clipId, "recordingId": record.recordingId,
                                              "fromMs": record.fromMs, "toMs": record.toMs,
                                              "actualFromMs": record.actualFromMs, "actualToMs": record.actualToMs,
                                              "bytes": record.bytes])))
    }

    /// Gives a clip a new note and logs `clip_noted` (ids only); answers 200 with the clip as the
    /// summary lists it, or 404 when the clip (or its recording) is gone.
    func changeClipNote(sessionID sid: String, clipID cid: String, note: String, replyTo conn: ConnectionID) {
        let record: ClipRecord?
        do {
            record = try store.changeClipNote(sessionID: sid, clipID: cid, note: note, keyring: keyring)
        } catch {
            logger.error("could not change a clip's note", metadata: ["session.id": "\(sid)", "error": "\(error)"])
            inbox.post(.respond(conn, .error(500, .internalError, "the clip's note could not be saved on the server, so it is as it was; try again, and tell the operator if it persists")))
            return
        }
        guard let record else {
            inbox.post(.respond(conn, RecordingRequestError.clipNotFound.response))
            return
        }
        log(sid, "clip_noted", ["clipId": cid])
        inbox.post(.respond(conn, .json(200, record.summary)))
    }

    /// Gives the session's family a copy of a clip of `clipSessionID` (`given`), or takes it back:
    /// the session's list of copies says so from now on (`RecordingStore+FamilyCopies`), and its log
    /// too (`family_copy_given`, `family_copy_taken_back`); then the service thread answers and tells
    /// the family's page. Nothing is logged or told when nothing changed (given twice, or taken back
    /// when not given); 404 when the clip to give is gone.
    func giveFamilyCopy(sessionID sid: String, clipSessionID: String, clipID cid: String, given: Bool, replyTo conn: ConnectionID) {
        var body: [String: Any] = ["clipId": cid, "givenToFamily": given]
        let changed: Bool
        do {
            if given {
                guard let saved = try store.giveFamilyCopy(sessionID: sid, clipSessionID: clipSessionID, clipID: cid, at: Date()) else {
                    inbox.post(.respond(conn, RecordingRequestError.clipNotFound.response))
                    return
                }
                body["givenAt"] = UTCTime.format(saved.copy.givenAt)
                body["sessionId"] = saved.copy.sessionId
                changed = saved.changed
            } else {
                changed = try store.takeBackFamilyCopy(sessionID: sid, clipID: cid)
            }
        } catch {
            logger.error("could not change the family's copies", metadata: ["session.id": "\(sid)", "error": "\(error)"])
            inbox.post(.respond(conn, .error(500, .internalError, "the list of the family's copies could not be saved on the server, so nothing changed for the family; try again, and tell the operator if it persists")))
            return
        }
        guard changed else {
            inbox.post(.respond(conn, .json(200, body)))
            return
        }
        var fields: [String: any Sendable] = ["clipId": cid]
        if given, clipSessionID != sid { fields["clipSessionId"] = clipSessionID }
        log(sid, given ? "family_copy_given" : "family_copy_taken_back", fields)
        inbox.post(.familyCopyChanged(conn, sessionID: sid, clipID: cid, given: given, .json(200, body)))
    }

    /// Syncs the open recordings when a second has passed since they were last synced (after each
    /// append, and on a periodic job); a recording that cannot be written fails.
    /// A sync that takes longer than the second between syncs is logged: with many recordings it is
    /// a `syncfs`, which also waits for whatever else is being written on that file system.
    func syncDue(now: Date = Date()) {
        guard let outcome = syncer.syncIfDue(open.values, now: now) else { return }
        if outcome.seconds >= RecordingSyncer.interval, now.timeIntervalSince(slowSyncLoggedAt) >= 60 {
            slowSyncLoggedAt = now
            logger.warning("syncing the recordings to disk took longer than a second; if other programs write to the data directory's file system, give it a file system of its own",
                           metadata: ["seconds": "\(String(format: "%.1f", outcome.seconds))", "recordings": "\(open.count)"])
        }
        for (file, error) in outcome.failures {
            failed(file.sessionID, file.recordingID, "\(error)", manifest: file.fail(reason: "\(error)", at: now))
            open[file.recordingID] = nil
        }
    }

    /// Measures the space left on the data directory's file system for the service thread, which
    /// holds recordings back below `--min-free-space` (once a second, after the sync). If it cannot
    /// be measured, the last measurement stands and the failure is logged at most once a minute.
    func measureDiskSpace(now: Date = Date()) {
        do {
            inbox.post(.diskSpaceMeasured(availableBytes: try DataDiskSpace.availableBytes(dataDir: dataDir)))
        } catch {
            guard now.timeIntervalSince(spaceUnknownLoggedAt) >= 60 else { return }
            spaceUnknownLoggedAt = now
            logger.warning("cannot measure the space left for recordings; the last measurement stands", metadata: ["error": "\(error)"])
        }
    }

    /// Flushes and closes every open recording (shutdown).
    func finishAll() {
        let now = Date()
        for (rid, file) in open {
            let sid = file.manifest.sessionId
            do {
                var fields = Self.stoppedFields(try file.finish(at: now))
                fields["reason"] = "server shutdown"
                log(sid, "recording_stopped", fields)
            } catch {
                failed(sid, rid, "\(error)", manifest: file.fail(reason: "\(error)", at: now))
            }
        }
        open.removeAll()
    }

    /// The fields of a `recording_stopped` event, whatever stopped the recording.
    private static func stoppedFields(_ manifest: RecordingManifest) -> [String: any Sendable] {
        ["recordingId": manifest.recordingId, "bytes": manifest.bytes, "frames": manifest.frames,
         "durationMs": manifest.durationMs, "parts": manifest.parts.count]
    }

    private func failed(_ sid: String, _ rid: String, _ reason: String, manifest: RecordingManifest? = nil) {
        logger.error("recording failed", metadata: ["session.id": "\(sid)", "recording.id": "\(rid)", "error": "\(reason)"])
        log(sid, "recording_failed", ["recordingId": rid, "reason": reason])
        inbox.post(.recordingFailed(sessionID: sid, recordingID: rid, reason: reason))
    }

    private func log(_ sid: String, _ event: String, _ fields: [String: any Sendable]) {
        events.append(sessionID: sid, event: event, fields: fields, orLogTo: logger)
    }
}
