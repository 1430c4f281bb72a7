import CLibWebSockets
import Foundation
import VigRelayCore

/// HTTP API callbacks of the service loop: request, body, response. Service thread only.
extension ServiceLoop {
    private static let methods: [(lws_token_indexes, String)] = [
        (WSI_TOKEN_GET_URI, "GET"), (WSI_TOKEN_POST_URI, "POST"), (WSI_TOKEN_HEAD_URI, "HEAD"), (WSI_TOKEN_PUT_URI, "PUT"),
        (WSI_TOKEN_DELETE_URI, "DELETE"), (WSI_TOKEN_PATCH_URI, "PATCH"), (WSI_TOKEN_OPTIONS_URI, "OPTIONS"),
    ]
    /// Most query arguments read from a request (`?part=N` is the only one the API uses).
    private static let maxQueryArguments = 16

    func httpRequest(_ id: ConnectionID, wsi: OpaquePointer, path: String) -> Int32 {
        var method = "UNKNOWN"
        for (token, name) in Self.methods where lws_hdr_total_length(wsi, token) > 0 {
            method = name
            break
        }
        let request = HTTPRequest(method: method, path: path, authorization: header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION),
                                  query: queryArguments(wsi), range: header(wsi, WSI_TOKEN_HTTP_RANGE))
        let exchange = HTTPExchange(id: id, wsi: wsi, request: request)
        exchanges[id] = exchange
        if isPastConnectionLimit(wsi) {
            exchange.closeAfter = true
            respond(id, api.tooManyConnections(connectionQuota))
            return 0
        }
        switch api.bodyFraming(contentLength: header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH),
                               transferEncoding: header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
        case .none:
            decide(exchange)
        case .length:
            // Wait for HTTP_BODY_COMPLETION, within the time allowed.
            exchange.bodyDeadline = Self.monotonicNanos() + UInt64(core.limits.requestBodySeconds) * 1_000_000_000
        case .refuse(let response):
            exchange.closeAfter = true
            respond(id, response)
        }
        return 0
    }

    /// A piece of a body whose length `bodyFraming` accepted (at most the limit): lws hands over no
    /// more than `Content-Length` bytes, so the body cannot outgrow it here.
    func httpBody(_ id: ConnectionID, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let exchange = exchanges[id], exchange.response == nil else { return 0 }
        // Checked as pieces arrive: a body that stops altogether meets lws's own timeout.
        if let deadline = exchange.bodyDeadline, Self.monotonicNanos() > deadline {
            exchange.closeAfter = true
            respond(id, api.bodyTooSlow)
            return 0
        }
        exchange.request.body.append(contentsOf: bytes)
        return 0
    }

    func httpBodyComplete(_ id: ConnectionID) -> Int32 {
        guard let exchange = exchanges[id], !exchange.decided, exchange.response == nil else { return 0 }
        decide(exchange)
        return 0
    }

    /// Runs the API on a complete request and carries out its outcome: answer now, or hand the work
    /// to the writer (sessions, deletion) or the reader (summaries, session lists, the cycle log, clips, downloads) first.
    private func decide(_ exchange: HTTPExchange) {
        exchange.decided = true
        let id = exchange.id
        // lws armed its 5 s timeout when the request arrived (cleared only for a body): the reader or
        // writer may take longer than that to answer (behind other work), so the response gets as
        // long as a stalled download does, renewed by each piece written.
        lws_set_timeout(exchange.wsi, PENDING_TIMEOUT_HTTP_CONTENT, Self.responseStallSeconds)
        switch api.handle(exchange.request, core: core, now: Date()) {
        case .respond(let response):
            respond(id, response)
        case .respondAndPerform(let response, let actions):
            perform(actions)
            respond(id, response)
        case .persistSession(let record, let response):
            saveSession(record, event: "created", at: record.createdAt) { .sessionPersisted(id, record, response, failure: $0) }
        case .replaceInvite(let sessionID, let issuedAtMs, let expiresAt, let response):
            updateSession(sessionID, .newInvite(issuedAtMs: issuedAtMs, expiresAt: expiresAt)) { .inviteSaved(id, sessionID: sessionID, $0, response) }
        case .changeLabels(let sessionID, let change):
            updateSession(sessionID, .labels(change)) { .labelsSaved(id, sessionID: sessionID, $0) }
        case .sessionSummary(let session):
            let worker = readerWorker
            reader.submit { worker.summary(id, session) }
        case .sessionList(let page):
            let worker = readerWorker
            reader.submit { worker.sessionList(id, page) }
        case .cycleLog(let sessions):
            let worker = readerWorker
            reader.submit { worker.cycleLog(id, sessions) }
        case .createClip(let request):
            let worker = readerWorker
            reader.submit { worker.planClip(id, request) }
        case .changeClipNote(let sessionID, let clipID, let note):
            let worker = recordingWorker
            writer.submit { worker.changeClipNote(sessionID: sessionID, clipID: clipID, note: note, replyTo: id) }
        case .giveFamilyCopy(let sessionID, let clipSessionID, let clipID, let given):
            let worker = recordingWorker
            writer.submit { worker.giveFamilyCopy(sessionID: sessionID, clipSessionID: clipSessionID, clipID: clipID, given: given, replyTo: id) }
        case .familyCopyList(let sessionID):
            let worker = readerWorker
            reader.submit { worker.familyCopies(id, sessionID: sessionID) }
        case .media(let request, let grant):
            startDownload(exchange, request, grant: grant)
        case .deleteRecordings(let sessionID):
            perform(core.recordingsDeletionRequested(sessionID: sessionID, requester: id))
        case .withdraw(let sessionID):
            let asked = core.withdrawalRequested(sessionID: sessionID, requester: id)
            if asked.answerNow { respond(id, .json(200, ["deleted": [String]()])) }
            perform(asked.actions)
        case .metrics:
            scrapeMetrics(id)
        }
    }

    /// Saves the session record and logs `event` on the writer thread, then posts `done(failure)`
    /// (nil: saved; the event log's own failure is only logged).
    private func saveSession(_ record: SessionRecord, event: String, at time: Date, done: @escaping @Sendable (String?) -> LoopEvent) {
        let store = sessionStore, events = sessionEvents, logger = self.logger, inbox = self.inbox
        writer.submit {
            do {
                try store.save(record)
                events.append(sessionID: record.id, event: event, at: time, orLogTo: logger)
                inbox.post(done(nil))
            } catch {
                inbox.post(done("\(error)"))
            }
        }
    }

    /// Applies `change` to the stored session record and logs its event on the writer thread, then
    /// posts `done` with the record as saved (the event log's own failure is only logged).
    private func updateSession(_ sessionID: String, _ change: SessionRecordChange,
                               done: @escaping @Sendable (Result<SessionRecord, any Error>) -> LoopEvent) {
        let store = sessionStore, events = sessionEvents, logger = self.logger, inbox = self.inbox
        writer.submit {
            let saved = Result { try store.update(sessionID: sessionID, change) }
            if case .success(let record) = saved {
                events.append(sessionID: sessionID, event: change.event, fields: change.eventFields(record), at: Date(), orLogTo: logger)
            }
            inbox.post(done(saved))
        }
    }

    /// A new family link was saved, or not: once saved it is in force (the family on an older link
    /// is closed) and the practitioner gets it; unsaved, nothing changed and the old link still works.
    func inviteSaved(_ conn: ConnectionID, _ sessionID: String, _ saved: Result<SessionRecord, any Error>, _ response: HTTPResponse) {
        let record: SessionRecord
        switch saved {
        case .success(let stored): record = stored
        case .failure(let error):
            logger.error("could not save the session's new family link", metadata: ["session.id": "\(sessionID)", "error": "\(error)"])
            respond(conn, .error(500, .internalError, "the new link could not be saved on the server, and the family's current link still works; try again, and tell the operator if it persists"))
            return
        }
        let actions = core.inviteReplaced(record)
        cutOffFamilyDownloads(sessionID: record.id) { _ in true }  // only the newest link fetches copies (a download with it starts after this)
        let closed = RelayAction.closes(in: actions)
        logger.info("family invite replaced", metadata: ["session.id": "\(record.id)", "practitioner.id": "\(record.owner)",
                                                         "connections.closed": "\(closed)"])
        perform(actions)
        respond(conn, response)
    }

    /// New labels were saved, or not: once saved they are the session's (its list entry and the cycle
    /// log show them) and the practitioner gets them back; unsaved, nothing changed.
    func labelsSaved(_ conn: ConnectionID, _ sessionID: String, _ saved: Result<SessionRecord, any Error>) {
        switch saved {
        case .success(let record):
            perform(core.sessionRecordSaved(record))
            cutOffSupervisorDownloads(sessionID: record.id)
            logger.info("session labels changed", metadata: ["session.id": "\(record.id)", "practitioner.id": "\(record.owner)"])
            respond(conn, .json(200, api.labelsBody(record)))
        case .failure(let error):
            logger.error("could not save the session's new labels", metadata: ["session.id": "\(sessionID)", "error": "\(error)"])
            respond(conn, .error(500, .internalError, "the new labels could not be saved on the server, and the session keeps its old ones; try again, and tell the operator if it persists"))
        }
    }

    /// Sets the response of a waiting exchange and asks to write it.
    func respond(_ id: ConnectionID, _ response: HTTPResponse) {
        guard let exchange = exchanges[id], exchange.response == nil else { return }
        if let code = response.errorCode { metrics.countError(code) }
        exchange.download = nil
        exchange.response = response
        lws_callback_on_writable(exchange.wsi)
    }

    func httpWriteable(_ id: ConnectionID) -> Int32 {
        guard let exchange = exchanges[id] else { return 0 }
        if exchange.download != nil { return downloadWriteable(exchange) }
        guard let response = exchange.response else { return 0 }
        let headOnly = exchange.request.method == "HEAD"
        if !exchange.headersSent {
            exchange.headersSent = true
            guard writeHeaders(exchange.wsi, status: response.status, contentType: response.contentType,
                               length: Int64(response.body.count), extra: response.headers) else { return -1 }
            if headOnly { return completeTransaction(exchange) }
            lws_callback_on_writable(exchange.wsi)
            return 0
        }
        // The body goes out at most a scratch buffer per turn (a session's summary has no fixed size).
        let start = exchange.bodySent
        let count = min(response.body.count - start, Self.fragmentSize)
        let last = start + count == response.body.count
        let payload = scratch + pre
        response.body.withUnsafeBytes { body in
            if count > 0, let base = body.baseAddress { payload.copyMemory(from: base + start, byteCount: count) }
        }
        guard lws_write(exchange.wsi, payload.assumingMemoryBound(to: UInt8.self), count, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) >= count
        else { return -1 }
        exchange.bodySent += count
        if last { return completeTransaction(exchange) }
        lws_set_timeout(exchange.wsi, PENDING_TIMEOUT_HTTP_CONTENT, Self.responseStallSeconds)
        lws_callback_on_writable(exchange.wsi)
        return 0
    }

    /// Ends the exchange after its response went out: the connection waits for the next request
    /// (keep-alive) or closes.
    func completeTransaction(_ exchange: HTTPExchange) -> Int32 {
        exchanges[exchange.id] = nil
        if exchange.closeAfter { return -1 }
        return lws_http_transaction_completed(exchange.wsi) != 0 ? -1 : 0
    }

    func httpClosed(_ id: ConnectionID) {
        guard let exchange = exchanges.removeValue(forKey: id) else { return }
        if let download = exchange.download { finishReading(download.id) }
    }

    /// Writes the status line, the common headers with the exact length, the security headers and
    /// `extra` (lower-case names; one of them replaces a security header of the same name).
    func writeHeaders(_ wsi: OpaquePointer, status: Int, contentType: String, length: Int64, extra: [String: String]) -> Bool {
        let capacity = 2048
        let start = (scratch + pre).assumingMemoryBound(to: UInt8.self)
        let end = start + capacity
        var p: UnsafeMutablePointer<UInt8>? = start
        guard lws_add_http_common_headers(wsi, UInt32(status), contentType, lws_filepos_t(length), &p, end) == 0
        else { return false }
        // `extra` may replace a common header (the web app's files say `cache-control: no-cache`).
        let common = Self.securityHeaders.filter { extra[String($0.0.dropLast())] == nil }
        for (name, value) in common + extra.sorted(by: { $0.key < $1.key }).map({ ($0.key + ":", $0.value) }) {
            guard lws_add_http_header_by_name(wsi, name, value, Int32(value.utf8.count), &p, end) == 0 else { return false }
        }
        return lws_finalize_write_http_header(wsi, start, &p, end) == 0
    }

    /// Answers a `CONNECT` request, or one whose method lws does not know, and ends its connection:
    /// lws 4.1 turns such a connection into a raw socket (`LWS_CALLBACK_RAW_ADOPT` on the HTTP
    /// protocol; for unknown methods because `LwsContextSettings` asks it to, instead of its own
    /// HTML 403) with no timeout, which would otherwise hold a descriptor for as long as the peer
    /// likes. No HTTP header helper works on a raw socket, so the response is written as bytes; the
    /// caller's -1 then closes.
    func refuseMethod(_ wsi: OpaquePointer) -> Int32 {
        writeAndClose(wsi, api.methodNotServed)
        logger.info("refused a CONNECT request or an unknown method")
        return -1
    }

    /// Checks an upgrade (`kind` is the `Upgrade` header: websocket or h2c, lws answers any other
    /// with its own 403) before lws does: a WebSocket upgrade it cannot accept
    /// (`WebSocketUpgrade.refusal`) or any h2c is answered and closed (-1); 0 lets lws go on.
    func confirmUpgrade(_ wsi: OpaquePointer, to kind: String) -> Int32 {
        let refusal: HTTPResponse
        if kind.lowercased() == "websocket" {
            let upgrade = WebSocketUpgrade(connection: header(wsi, WSI_TOKEN_CONNECTION), version: header(wsi, WSI_TOKEN_VERSION),
                                           key: header(wsi, WSI_TOKEN_KEY), protocols: header(wsi, WSI_TOKEN_PROTOCOL))
            guard let malformed = upgrade.refusal else { return 0 }
            refusal = malformed
        } else {
            refusal = WebSocketUpgrade.h2cRefusal
        }
        writeAndClose(wsi, refusal)
        logger.info("refused an upgrade", metadata: ["upgrade": "\(kind)", "status": "\(refusal.status)"])
        return -1
    }

    /// Writes a whole small response in one `lws_write`, as bytes, where lws's header helpers do not
    /// serve (a raw socket; an upgrade refused before lws answers it). The caller's -1 then closes.
    private func writeAndClose(_ wsi: OpaquePointer, _ response: HTTPResponse) {
        if let code = response.errorCode { metrics.countError(code) }
        var head = "HTTP/1.1 \(response.status) \(Self.reasonPhrases[response.status] ?? "Error")\r\ncontent-type: \(response.contentType)\r\n"
            + "content-length: \(response.body.count)\r\nconnection: close\r\n"
        for (name, value) in Self.securityHeaders { head += "\(name) \(value)\r\n" }
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        let message = Array((head + "\r\n").utf8) + response.body
        let payload = scratch + pre
        message.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        _ = lws_write(wsi, payload.assumingMemoryBound(to: UInt8.self), message.count, LWS_WRITE_HTTP)  // lws-write.h: LWS_WRITE_RAW is LWS_WRITE_HTTP
    }

    private static let reasonPhrases = [400: "Bad Request", 405: "Method Not Allowed", 426: "Upgrade Required"]

    /// The URL-decoded query arguments (`name=value` each), as lws split them.
    private func queryArguments(_ wsi: OpaquePointer) -> [String] {
        var out: [String] = []
        for index in 0..<Int32(Self.maxQueryArguments) {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            var buffer = [CChar](repeating: 0, count: length + 1)
            let copied = Int(lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index))
            guard copied >= 0 else { break }
            out.append(String(decoding: buffer.prefix(copied).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out
    }

    private static let securityHeaders: [(String, String)] = [
        ("cache-control:", "no-store"),
        ("x-content-type-options:", "nosniff"),
        ("referrer-policy:", "no-referrer"),
        ("strict-transport-security:", "max-age=31536000"),
    ]
}
