import Foundation
import Logging
import VigRelayCore
import VigRelayStorage

/// Carries out reads for the HTTP API on the reader thread: session summaries and lists, the cycle log, clip plans, and
/// downloads read one chunk at a time. Results go back to the service thread through the inbox.
///
/// A download's file is opened once (`MediaFileSlice`); the worker reads `readAhead` chunks at
/// once and then one more each time the service thread has written one out (`more`), so each
/// download holds at most `readAhead` chunks in memory however slow its client is.
///
/// Thread: every method runs on the reader thread (submitted as jobs to the reader's `DiskWriter`
/// queue); `@unchecked Sendable` only so the jobs can carry it there. Nothing else touches `open`.
final class ReaderWorker: @unchecked Sendable {
    /// Bytes per chunk: one `lws_write` each (the service loop's scratch buffer holds one).
    static let chunkBytes = ServiceLoop.fragmentSize
    /// Chunks read before the first is written out.
    static let readAhead = 2

    private let reader: RecordingReader
    private let inbox: LoopInbox
    private let logger: Logger
    /// Open downloads by download id.
    private var open: [UInt64: OpenDownload] = [:]

    /// A download being read: its file, the connection it goes to, and what is left.
    private struct OpenDownload {
        let connection: ConnectionID
        let slice: MediaFileSlice
        /// Next offset of the resource to read, and where the body ends.
        var next: Int64
        let end: Int64
    }

    init(dataDir: String, keyring: RecordingKeyring?, inbox: LoopInbox, logger: Logger) {
        self.reader = RecordingReader(dataDir: dataDir, keyring: keyring)
        self.inbox = inbox
        self.logger = logger
    }

    /// Builds the session's summary and answers 200 with it.
    func summary(_ conn: ConnectionID, _ session: SessionRecord) {
        inbox.post(.respond(conn, .json(200, reader.summary(of: session))))
    }

    /// Lists the clips given to the session's family and answers 200 with them (500 when the list
    /// cannot be read).
    func familyCopies(_ conn: ConnectionID, sessionID: String) {
        do {
            inbox.post(.respond(conn, .json(200, try reader.familyCopies(sessionID: sessionID))))
        } catch {
            logger.error("could not read the family's copies", metadata: ["session.id": "\(sessionID)", "error": "\(error)"])
            inbox.post(.respond(conn, .error(500, .internalError, "the list of clips given to you could not be read on the server; try again, and tell your practitioner if it persists")))
        }
    }

    /// Adds what is on disk to a page of the session list and answers 200 with it.
    func sessionList(_ conn: ConnectionID, _ page: SessionListPage) {
        inbox.post(.respond(conn, .json(200, reader.sessionList(page))))
    }

    /// Reads whether each of the practitioner's sessions was held and answers 200 with their cycle
    /// log; 500 when an event log cannot be read (an incomplete count is not answered).
    func cycleLog(_ conn: ConnectionID, _ sessions: [CycleLog.Session]) {
        do {
            inbox.post(.respond(conn, .json(200, try reader.cycleLog(sessions))))
        } catch {
            logger.error("could not read the cycle log", metadata: ["error": "\(error)"])
            inbox.post(.respond(conn, .error(500, .internalError, "a session's event log could not be read on the server, so the cycle log would be incomplete; try again, and tell the operator if it persists")))
        }
    }

    /// Plans a clip; the service thread has the writer store it.
    func planClip(_ conn: ConnectionID, _ request: ClipRequest) {
        switch reader.planClip(request, clipID: Identifiers.newClipID(), now: Date()) {
        case .success(let record): inbox.post(.clipPlanned(conn, record))
        case .failure(let error): inbox.post(.respond(conn, error.response))
        }
    }

    /// Opens a download, posts its head (or the refusal) and reads the first chunks.
    func start(_ conn: ConnectionID, download: UInt64, _ request: MediaRequest) {
        let opened: RecordingReader.OpenedMedia
        switch reader.open(request) {
        case .failure(let error):
            if case .unreadable(let reason) = error {
                logger.error("download failed", metadata: ["session.id": "\(request.sessionID)", "error": "\(reason)"])
            }
            inbox.post(.respond(conn, error.response))
            return
        case .success(let media):
            opened = media
        }
        switch MediaAnswer(range: request.range, length: opened.slice.length, contentType: opened.contentType) {
        case .respond(let response):
            inbox.post(.respond(conn, response))
        case .stream(var head):
            head.headers.merge(opened.headers) { _, excerpt in excerpt }
            inbox.post(.downloadHead(conn, download: download, head, filesOf: opened.filesOf))
            guard !request.headOnly, !head.body.isEmpty else { return }
            open[download] = OpenDownload(connection: conn, slice: opened.slice, next: head.body.lowerBound, end: head.body.upperBound)
            for _ in 0..<Self.readAhead { more(download) }
        }
    }

    /// Reads and posts the download's next chunk, if any is left.
    func more(_ download: UInt64) {
        guard var state = open[download], state.next < state.end else { return }
        let range = state.next..<min(state.next + Int64(Self.chunkBytes), state.end)
        do {
            let bytes = try state.slice.read(range)
            state.next = range.upperBound
            inbox.post(.downloadChunk(state.connection, download: download, bytes))
            if state.next < state.end { open[download] = state } else { finish(download) }
        } catch {
            logger.error("download read failed", metadata: ["conn.id": "\(state.connection)", "error": "\(error)"])
            finish(download)
            inbox.post(.downloadFailed(state.connection, download: download, reason: "\(error)"))
        }
    }

    /// Forgets a download and closes its file (done, cut off, or the client went away).
    func finish(_ download: UInt64) {
        open.removeValue(forKey: download)?.slice.close()
    }

    /// Closes every open file (shutdown).
    func finishAll() {
        for state in open.values { state.slice.close() }
        open.removeAll()
    }
}
