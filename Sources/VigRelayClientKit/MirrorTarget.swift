import VigRelayCore

/// Where `load --mode mirror` connects: a `wss://HOST[:PORT]/path[?query]` URL of another relay.
///
/// Pairing rule (the whole contract a mirror relay has to meet): both sockets of pair N connect to
/// the URL with `pair=RUN-N` added to its query (RUN is random per run, so runs do not meet), with
/// no subprotocol; the relay forwards every message one socket sends to the other socket of the
/// same pair, unchanged. Each socket also says which end it is (`side=family`, the camera's
/// sender, or `side=practitioner`): a relay that pairs by `pair=` alone ignores it, and a pub/sub
/// relay (nginx+nchan) can publish to one channel per side and subscribe to the other's, so that
/// nobody is sent their own messages back. Pure value.
public struct MirrorTarget: Sendable, Equatable, CustomStringConvertible {
    /// Host and port (443 unless given).
    public let endpoint: ServerEndpoint
    /// Path, with the query if the URL had one.
    public let pathAndQuery: String

    /// Reads `wss://HOST[:PORT][/path][?query]`; anything else is a usage error saying what to write.
    public init(parsing text: String) throws(ClientError) {
        let usage = "--url '\(text)' is not a WebSocket URL: write wss://HOST:PORT/PATH, e.g. wss://127.0.0.1:9443/mirror"
        guard text.lowercased().hasPrefix("wss://") else { throw .usage(usage) }
        let rest = text.dropFirst("wss://".count)
        guard !rest.contains("#") else { throw .usage(usage) }
        let split = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<split]
        var tail = String(rest[split...])
        if tail.isEmpty || tail.hasPrefix("?") { tail = "/" + tail }
        do {
            endpoint = try ServerEndpoint(parsing: "https://" + authority)
        } catch {
            throw .usage(usage)
        }
        pathAndQuery = tail
    }

    /// The request path for one socket of a pair: the URL's path and query plus `pair=ID&side=ROLE`.
    public func path(pair id: String, side: Role) -> String {
        pathAndQuery + (pathAndQuery.contains("?") ? "&" : "?") + "pair=\(id)&side=\(side.rawValue)"
    }

    public var description: String {
        "wss://\(endpoint.hostHeader)\(pathAndQuery)"
    }
}
