import Foundation

/// Turns what lws says about a failed client connection into a `ClientError`.
///
/// lws 4.1 reports connection failures as free text in `LWS_CALLBACK_CLIENT_CONNECTION_ERROR`
/// ("Unable to connect", "connect SSL err 1: ...", "HS: ..."); a certificate that did not verify is
/// seen earlier, in `LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION` with preverify 0, and
/// the caller passes that along. Pure.
enum ConnectFailure {
    static func classify(_ detail: String, certificateRejected: Bool, server: ServerEndpoint) -> ClientError {
        let text = detail.trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = text.lowercased()
        if certificateRejected || lower.contains("cert") {
            return .untrustedCertificate(server: server.description)
        }
        if lower.contains("unable to connect") || lower.contains("connect failed") || lower.contains("timed out")
            || lower.contains("timeout") || lower.contains("getaddrinfo") || lower.contains("dns") || lower.isEmpty {
            return .unreachable(server: server.description, detail: text.isEmpty ? "no connection" : text)
        }
        if lower.contains("ssl") || lower.contains("tls") || lower.contains("alpn") {
            return .tls(server: server.description, detail: text)
        }
        if lower.hasPrefix("hs:") || lower.contains("handshake") || lower.contains("upgrade") {
            return .protocolError("the relay at \(server) refused the WebSocket upgrade (\(text)); check --server points at the relay")
        }
        return .unreachable(server: server.description, detail: text)
    }
}
