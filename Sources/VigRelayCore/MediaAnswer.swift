/// The head of the answer to a download once the file's length is known: the status, headers and
/// which bytes to send, or a complete 416. Pure; the reader thread decides it, the lws thread writes it.
public enum MediaAnswer: Sendable, Equatable {
    /// Send these headers, then `body` of the resource (nothing for HEAD or an empty range).
    case stream(MediaHead)
    /// Send this complete response instead (416 with `Content-Range: bytes */len`).
    case respond(HTTPResponse)

    /// Decides the answer for a `Range` header (nil when absent) on a resource of `length` bytes.
    public init(range: String?, length: Int64, contentType: String) {
        switch HTTPByteRange(header: range, length: length) {
        case .full:
            self = .stream(MediaHead(status: 200, contentType: contentType, body: 0..<max(length, 0),
                                     headers: ["accept-ranges": "bytes"]))
        case .partial(let bytes):
            self = .stream(MediaHead(status: 206, contentType: contentType, body: bytes,
                                     headers: ["accept-ranges": "bytes",
                                               "content-range": HTTPByteRange.contentRangeHeader(bytes, total: length)]))
        case .unsatisfiable:
            var response = HTTPResponse.error(416, .rangeNotSatisfiable,
                "the Range starts at or past the end of the \(length)-byte file; ask for bytes 0-\(max(length - 1, 0)) or leave Range out")
            response.headers = ["accept-ranges": "bytes", "content-range": HTTPByteRange.unsatisfiedRangeHeader(total: length)]
            self = .respond(response)
        }
    }
}

/// Status line and headers of a streamed download, and the bytes of the resource its body holds.
public struct MediaHead: Sendable, Equatable {
    /// 200 or 206.
    public var status: Int
    /// `video/webm`, `video/mp4` or `application/octet-stream`.
    public var contentType: String
    /// Offsets in the resource of the bytes to send; its length is the `Content-Length`.
    public var body: Range<Int64>
    /// `accept-ranges`, and `content-range` on a 206, by lower-case name.
    public var headers: [String: String]

    /// Describes a head.
    public init(status: Int, contentType: String, body: Range<Int64>, headers: [String: String]) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// The `Content-Length`.
    public var contentLength: Int64 { body.upperBound - body.lowerBound }
}
