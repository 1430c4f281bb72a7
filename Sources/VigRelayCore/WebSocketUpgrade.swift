import Foundation

/// The headers of a WebSocket upgrade request that the relay checks before lws answers it
/// (RFC 6455, 4.2.1), so a malformed upgrade gets a clear HTTP error: lws 4.1.6 closes the
/// connection without a word when the key or the `Connection` header is missing or no offered
/// subprotocol is known, and accepts any version as 13.
public struct WebSocketUpgrade: Sendable, Equatable {
    /// The one subprotocol the relay speaks (docs/PROTOCOL.md).
    public static let subprotocol = "vigrelay.v1"

    public var connection: String?
    public var version: String?
    public var key: String?
    /// `Sec-WebSocket-Protocol`: the subprotocols offered, comma-separated. Absent is let through:
    /// the relay then accepts and closes with 1002 and a reason a browser's page can read.
    public var protocols: String?

    public init(connection: String?, version: String?, key: String?, protocols: String?) {
        self.connection = connection
        self.version = version
        self.key = key
        self.protocols = protocols
    }

    /// The answer to an upgrade the relay cannot accept (the connection is then closed), or nil.
    public var refusal: HTTPResponse? {
        guard Self.tokens(connection).contains(where: { $0.lowercased() == "upgrade" }) else {
            return .error(400, .invalidRequest, "a WebSocket upgrade needs the header Connection: Upgrade (RFC 6455, 4.1)")
        }
        guard version?.trimmingCharacters(in: .whitespaces) == "13" else {
            var response = HTTPResponse.error(426, .invalidRequest,
                "this relay speaks WebSocket version 13 (RFC 6455): send Sec-WebSocket-Version: 13")
            response.headers["sec-websocket-version"] = "13"
            return response
        }
        guard let key, let bytes = Data(base64Encoded: key.trimmingCharacters(in: .whitespaces)), bytes.count == 16 else {
            return .error(400, .invalidRequest, "a WebSocket upgrade needs Sec-WebSocket-Key: 16 random bytes in base64 (RFC 6455, 4.1)")
        }
        if protocols != nil, !Self.tokens(protocols).contains(Self.subprotocol) {
            return .error(400, .invalidRequest,
                "this relay speaks only the subprotocol \(Self.subprotocol): send Sec-WebSocket-Protocol: \(Self.subprotocol) (docs/PROTOCOL.md)")
        }
        return nil
    }

    /// The answer to `Upgrade: h2c` (the only upgrade other than websocket lws asks about; it closed
    /// these without a word): the relay speaks HTTP/1.1, and WebSocket on a session's `ws` path.
    public static let h2cRefusal = HTTPResponse.error(400, .invalidRequest,
        "this relay does not upgrade to HTTP/2 (h2c): send the request without Upgrade, or Upgrade: websocket on /v1/sessions/{id}/ws")

    /// The comma-separated tokens of a header, trimmed.
    private static func tokens(_ header: String?) -> [String] {
        (header ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
}
