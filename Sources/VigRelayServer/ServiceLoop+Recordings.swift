import VigRelayCore

/// The service thread's side of the recording endpoints beyond downloads: replies from the reader
/// and writer, and deletions (which must stop every download of the session). Service thread only.
extension ServiceLoop {
    /// Handles an inbox event of the recording endpoints (see `LoopEvent`).
    func recordingRequestEvent(_ event: LoopEvent) {
        switch event {
        case .respond(let conn, let response):
            respond(conn, response)
        case .downloadHead(let conn, let id, let head, let filesOf):
            downloadHead(conn, id, head, filesOf: filesOf)
        case .downloadChunk(let conn, let id, let bytes):
            downloadChunk(conn, id, bytes)
        case .downloadFailed(let conn, let id, let reason):
            downloadFailed(conn, id, reason: reason)
        case .clipPlanned(let conn, let record):
            let worker = recordingWorker
            writer.submit { worker.saveClip(record, replyTo: conn) }
        case .familyCopyChanged(let conn, let sid, let cid, let given, let response):
            if !given { cutOffFamilyDownloads(sessionID: sid) { $0 == .familyCopy(clipID: cid) } }
            perform(core.familyCopiesChanged(sessionID: sid))
            respond(conn, response)
        case .familyCopyFetched(let sid, let cid):
            perform(core.familyCopyFetched(sessionID: sid, clipID: cid))
        case .deletionFinished(let sid):
            if let queued = deletionsPending[sid], queued > 1 { deletionsPending[sid] = queued - 1 } else { deletionsPending[sid] = nil }
        case .recordingsDeletedOnRequest(let conn, let sid, let ids, let failure):
            if let failure {
                logger.error("could not delete every recording file", metadata: ["session.id": "\(sid)", "error": "\(failure)"])
                respond(conn, .error(500, .internalError, "not every recording file could be deleted; nothing more was recorded; try again, and tell the operator if it persists"))
            } else {
                logger.info("recordings deleted on request", metadata: ["session.id": "\(sid)", "count": "\(ids.count)"])
                metrics.countDeleted(ids.count, .request)
                perform(core.recordingsDeleted(sessionID: sid, recordingIDs: ids))
                respond(conn, .json(200, ["deleted": ids.sorted()]))
            }
        default:
            break
        }
    }

    /// Hands a deletion of a session's recordings (consent withdrawn, a request, retention) to the
    /// writer. No download may go on reading files being deleted: the running ones end now, new ones
    /// get 404 until the writer has run the deletion (`deletionFinished`, posted after it whatever happened).
    func submitDeletion(sessionID: String, _ delete: @escaping @Sendable () -> Void) {
        cutOffDownloads(sessionID: sessionID)
        deletionsPending[sessionID, default: 0] += 1
        let inbox = self.inbox
        writer.submit {
            delete()
            inbox.post(.deletionFinished(sessionID: sessionID))
        }
    }
}
