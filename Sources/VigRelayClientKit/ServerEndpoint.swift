/// Where the relay is: the host and port of `--server https://HOST:PORT`.
public struct ServerEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address as given (IPv6 without brackets).
    public let host: String
    /// TCP port (443 unless given).
    public let port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Reads `https://HOST[:PORT][/]`; the port defaults to 443. Any other form is refused with a
    /// message saying what to write instead.
    public init(parsing text: String) throws(ClientError) {
        let usage = "--server '\(text)' is not a server URL: write https://HOST:PORT, e.g. https://127.0.0.1:8443"
        guard text.lowercased().hasPrefix("https://") else { throw .usage(usage) }
        var rest = Substring(text.dropFirst("https://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("@"), !rest.contains("?"), !rest.contains("#") else { throw .usage(usage) }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .usage(usage) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .usage(usage) }
                portText = after.dropFirst()
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw .usage(usage) }
        var port = 443
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw .usage(usage) }
            port = p
        }
        self.init(host: String(host), port: port)
    }

    /// The `Host` header value: the host, bracketed if IPv6, and the port.
    public var hostHeader: String {
        (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }

    public var description: String { "https://\(hostHeader)" }
}
