import CLibWebSockets
import VigRelayCore

/// Downloads on the service thread: start one on the reader thread, write its head and then one
/// chunk per WRITEABLE as the reader delivers them, and cut off every download of a session whose
/// files are deleted, or whose token is revoked. Service thread only.
///
/// Memory per download is bounded: the reader reads `ReaderWorker.readAhead` chunks ahead and one
/// more only after one was written, and lws asks for WRITEABLE only once the socket took the last
/// write, so a client that stops reading holds at most a few chunks (and no thread).
extension ServiceLoop {
    /// Seconds an HTTP response may wait for the reader or writer, or a download or long body go
    /// without the client taking a piece, before its connection is closed.
    static let responseStallSeconds: Int32 = 60

    /// Hands a download to the reader thread; its head comes back through the inbox. While the
    /// session's recordings are being deleted, answers 404 at once.
    func startDownload(_ exchange: HTTPExchange, _ request: MediaRequest, grant: DownloadGrant) {
        if deletionsPending[request.sessionID] != nil {
            respond(exchange.id, Self.notFound(request.resource))
            return
        }
        nextDownloadID += 1
        let download = Download(id: nextDownloadID, request: request, grant: grant)
        exchange.download = download
        let worker = readerWorker, conn = exchange.id, id = download.id
        reader.submit { worker.start(conn, download: id, request) }
    }

    /// The download of `conn` if it is still `id` (an event for an earlier or cut-off one is stale).
    private func current(_ conn: ConnectionID, _ id: UInt64) -> (HTTPExchange, Download)? {
        guard let exchange = exchanges[conn], let download = exchange.download, download.id == id else { return nil }
        return (exchange, download)
    }

    /// The reader opened the file (of session `filesOf`): write the head next. A family's copy whose
    /// clip's session is being deleted meanwhile is answered 404 instead (its deletion cut off only
    /// the downloads known to read its files).
    func downloadHead(_ conn: ConnectionID, _ id: UInt64, _ head: MediaHead, filesOf: String) {
        guard let (exchange, download) = current(conn, id) else {
            finishReading(id)
            return
        }
        download.filesOf = filesOf
        if deletionsPending[filesOf] != nil {
            finishReading(id)
            respond(conn, Self.notFound(download.resource))
            return
        }
        download.head = head
        // A supervisor's download, or the family's of a copy, that found its file and sends it from
        // the first byte is logged in the session's log (a player's later reads of the same file,
        // from further on, are not).
        if !download.headOnly, head.body.lowerBound == 0 {
            if download.grant.asSupervisor, let supervisor = download.grant.practitionerID {
                perform([.recording(.supervisorDownload(sessionID: download.sessionID, supervisor: supervisor, resource: download.resource))])
            } else if case .familyCopy(let clipID) = download.resource {
                // A copy leaving the service for the family's device is logged too.
                perform([.recording(.familyCopyDownload(sessionID: download.sessionID, clipID: clipID))])
            }
        }
        lws_callback_on_writable(exchange.wsi)
    }

    /// The reader read the next chunk: queue it for the next WRITEABLE.
    func downloadChunk(_ conn: ConnectionID, _ id: UInt64, _ bytes: [UInt8]) {
        guard let (exchange, download) = current(conn, id) else { return }
        download.chunks.append(bytes)
        lws_callback_on_writable(exchange.wsi)
    }

    /// The reader failed mid-way: answer 500 if nothing went out yet, else close the connection
    /// (the client sees a body shorter than its Content-Length).
    func downloadFailed(_ conn: ConnectionID, _ id: UInt64, reason: String) {
        guard let (exchange, _) = current(conn, id) else { return }
        if exchange.headersSent {
            exchange.download = nil
            kill(exchange)
        } else {
            respond(conn, RecordingRequestError.unreadable(reason).response)
        }
    }

    /// WRITEABLE for a download: the head first, then one chunk per call.
    func downloadWriteable(_ exchange: HTTPExchange) -> Int32 {
        guard let download = exchange.download, let head = download.head else { return 0 }
        if !exchange.headersSent {
            exchange.headersSent = true
            guard writeHeaders(exchange.wsi, status: head.status, contentType: head.contentType, length: head.contentLength,
                               extra: head.headers) else { return -1 }
            if download.headOnly || head.body.isEmpty { return completeTransaction(exchange) }
            lws_set_timeout(exchange.wsi, PENDING_TIMEOUT_HTTP_CONTENT, Self.responseStallSeconds)
            if !download.chunks.isEmpty { lws_callback_on_writable(exchange.wsi) }
            return 0
        }
        guard !download.chunks.isEmpty else { return 0 }  // the reader has not delivered the next one yet
        let chunk = download.chunks.removeFirst()
        download.sent += Int64(chunk.count)
        let last = download.sent >= head.contentLength
        let payload = scratch + pre
        chunk.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(payload), byteCount: $0.count) }
        guard lws_write(exchange.wsi, payload.assumingMemoryBound(to: UInt8.self), chunk.count,
                        last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) >= chunk.count else { return -1 }
        if last { return completeTransaction(exchange) }
        lws_set_timeout(exchange.wsi, PENDING_TIMEOUT_HTTP_CONTENT, Self.responseStallSeconds)
        let worker = readerWorker, id = download.id
        reader.submit { worker.more(id) }
        if !download.chunks.isEmpty { lws_callback_on_writable(exchange.wsi) }
        return 0
    }

    /// Sessions with a download or clip being streamed, or whose files a family's copy is read from.
    var sessionsWithDownloads: Set<String> {
        Set(exchanges.values.flatMap { $0.download.map { [$0.sessionID, $0.filesOf] } ?? [] })
    }

    /// Ends every download of a session, and every family's copy read from its files: they are about
    /// to be deleted, and an open file would go on serving deleted video. Not started yet: 404;
    /// streaming: the connection is closed.
    func cutOffDownloads(sessionID: String) {
        cutOffDownloads(because: "recordings deleted", refusal: Self.notFound) { $0.sessionID == sessionID || $0.filesOf == sessionID }
    }

    /// Ends every download asked for with a practitioner token that `revocations` cover: a stolen
    /// token stops reading a recording, not only starting one. Not started yet: 401; streaming: the
    /// connection is closed.
    func cutOffDownloads(revokedBy revocations: TokenRevocations) {
        cutOffDownloads(because: "token revoked", refusal: { _ in .error(401, .unauthorized, TokenAuthority.VerifyError.revoked.description) }) { download in
            download.grant.practitionerID.map { revocations.revokes(.practitioner, id: $0, issuedAtMs: download.grant.tokenIssuedAtMs) } ?? false
        }
    }

    /// Ends the session's downloads by its supervisor that are no longer allowed: the family took back
    /// their agreement (or withdrew consent), or the owner named another supervisor or none. Called
    /// after each consent answer and each saved label change.
    func cutOffSupervisorDownloads(sessionID: String) {
        let session = core.sessions[sessionID]
        let allowed = core.supervisorMayView(sessionID: sessionID)
        cutOffDownloads(because: "supervisor no longer allowed", refusal: { _ in Self.supervisionEnded }) {
            $0.sessionID == sessionID && $0.grant.asSupervisor && !(allowed && session?.supervisor == $0.grant.practitionerID)
        }
    }

    /// Ends the family's downloads of the session's copies that `resource` picks: the copy was taken
    /// back, or a newer family link replaced the one they were fetched with.
    func cutOffFamilyDownloads(sessionID: String, _ resource: (MediaRequest.Resource) -> Bool) {
        cutOffDownloads(because: "family copy no longer given", refusal: Self.notFound) {
            $0.sessionID == sessionID && $0.grant.toFamily && resource($0.resource)
        }
    }

    /// What a supervisor's download cut off before its head went out is answered.
    private static let supervisionEnded = HTTPResponse.error(403, .supervisionNotAgreed, "the family no longer agrees that the practitioner's supervisor may watch this session's recordings, or you are no longer its supervisor")

    private func cutOffDownloads(because reason: String, refusal: (MediaRequest.Resource) -> HTTPResponse, where cut: (Download) -> Bool) {
        for exchange in exchanges.values {
            guard let download = exchange.download, cut(download) else { continue }
            finishReading(download.id)
            if exchange.headersSent {
                exchange.download = nil
                kill(exchange)
            } else {
                respond(exchange.id, refusal(download.resource))
            }
            logger.info("download cut off: \(reason)", metadata: ["session.id": "\(download.sessionID)", "conn.id": "\(exchange.id)"])
        }
    }

    /// The 404 for a recording or clip that is gone.
    private static func notFound(_ resource: MediaRequest.Resource) -> HTTPResponse {
        switch resource {
        case .clip, .familyCopy: RecordingRequestError.clipNotFound.response
        case .recording, .excerpt: RecordingRequestError.recordingNotFound.response
        }
    }

    /// Has the reader close a download's file and forget it.
    func finishReading(_ id: UInt64) {
        let worker = readerWorker
        reader.submit { worker.finish(id) }
    }

    /// Closes an HTTP connection at once, whether or not its client reads (lws closes it on its
    /// next service pass; `httpClosed` follows).
    private func kill(_ exchange: HTTPExchange) {
        exchanges[exchange.id] = nil
        lws_set_timeout(exchange.wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }
}
