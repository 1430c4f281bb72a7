import VigRelayCore

/// One HTTP request on a connection and its response: a complete response written on WRITEABLE
/// turns (the headers, then its body a scratch buffer at a time), or a download streamed from the
/// reader thread chunk by chunk.
///
/// Thread: owned by the service thread.
final class HTTPExchange {
    let id: ConnectionID
    let wsi: OpaquePointer
    var request: HTTPRequest
    /// Set once the API decided the request: lws also reports the end of an empty body
    /// (`Content-Length: 0`) after the request was decided without one, which must not decide it again.
    var decided = false
    /// The response, once decided; nil while the body arrives or the disk writer works.
    var response: HTTPResponse?
    var headersSent = false
    /// Bytes of `response`'s body written so far.
    var bodySent = 0
    /// Close the connection after this response (e.g. a body was refused unread).
    var closeAfter = false
    /// When the body must have arrived in full (`ServiceLoop.monotonicNanos`), while one is awaited.
    var bodyDeadline: UInt64?
    /// The download being streamed, if the request asked for one.
    var download: Download?

    init(id: ConnectionID, wsi: OpaquePointer, request: HTTPRequest) {
        self.id = id
        self.wsi = wsi
        self.request = request
    }
}

/// The service thread's side of one download: its head once the reader opened the file, the chunks
/// read ahead and not written yet, and how much went out.
///
/// Thread: owned by the service thread, inside its `HTTPExchange`.
final class Download {
    /// Unique for the server's life: events of an earlier download on the same connection are ignored.
    let id: UInt64
    /// The session it was asked of.
    let sessionID: String
    /// The session whose files it reads, cut off when they are deleted: `sessionID`, or for a
    /// family's copy the session the clip was cut in, known once the reader opened it.
    var filesOf: String
    /// What is downloaded (for the 404 when it is deleted before its head went out).
    let resource: MediaRequest.Resource
    let headOnly: Bool
    /// Who it was granted to: cut off when their token is revoked, or (a supervisor) when the
    /// family's agreement ends.
    let grant: DownloadGrant
    /// Status and headers, once the reader has opened the file.
    var head: MediaHead?
    /// Chunks read and not yet written, in order (at most `ReaderWorker.readAhead`).
    var chunks: [[UInt8]] = []
    /// Body bytes written so far.
    var sent: Int64 = 0

    init(id: UInt64, request: MediaRequest, grant: DownloadGrant) {
        self.id = id
        self.sessionID = request.sessionID
        self.filesOf = request.sessionID
        self.resource = request.resource
        self.headOnly = request.headOnly
        self.grant = grant
    }
}
