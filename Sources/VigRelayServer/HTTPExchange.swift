import VigRelayCore

/// One HTTP request on a connection and its response, written in two WRITEABLE turns (headers, body).
///
/// Thread: owned by the service thread.
final class HTTPExchange {
    let id: ConnectionID
    let wsi: OpaquePointer
    var request: HTTPRequest
    /// Declared Content-Length, if any.
    var declaredLength: Int?
    /// The response, once decided; nil while the body arrives or the disk writer works.
    var response: HTTPResponse?
    var headersSent = false
    /// Close the connection after this response (e.g. a body was refused unread).
    var closeAfter = false

    init(id: ConnectionID, wsi: OpaquePointer, request: HTTPRequest) {
        self.id = id
        self.wsi = wsi
        self.request = request
    }
}
