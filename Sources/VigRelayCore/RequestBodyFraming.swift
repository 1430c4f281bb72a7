import Foundation

/// Where a request's body ends, decided from its `Content-Length` and `Transfer-Encoding` headers
/// before any of it is read.
///
/// lws 4.1 reads a request body only by `Content-Length` (it does not decode chunked request bodies)
/// and takes the header's value with `atoll`, so `-1`, `abc` or two differing lengths would leave
/// the relay and lws disagreeing on where the body ends: the request would wait for a body that
/// never comes, or the body would be read as the next request. Those are refused up front instead,
/// and the connection is closed after the answer because the next request's start is unknown.
public enum RequestBodyFraming: Equatable, Sendable {
    /// No body: decide the request now.
    case none
    /// A body of this many bytes (at most the API's limit) follows.
    case length(Int)
    /// Answer this and close the connection.
    case refuse(HTTPResponse)
}

extension HTTPAPI {
    /// The framing of a request with these header values (lws joins repeated headers with a space).
    public func bodyFraming(contentLength: String?, transferEncoding: String?) -> RequestBodyFraming {
        if transferEncoding != nil {
            return .refuse(.error(411, .lengthRequired,
                                  "this relay reads request bodies by Content-Length only; send the body with a Content-Length header and no Transfer-Encoding"))
        }
        guard let value = contentLength?.trimmingCharacters(in: .whitespaces) else { return .none }
        let digits = value.utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .refuse(.error(400, .invalidRequest,
                                  "Content-Length must be one whole number of bytes, digits only, given once"))
        }
        // Past Int's range is past the limit too.
        guard let length = Int(value), length <= limits.maxRequestBodyBytes else { return .refuse(payloadTooLarge) }
        return length == 0 ? .none : .length(length)
    }
}
