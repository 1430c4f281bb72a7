import CLibWebSockets
import Foundation
import VigRelayCore

/// HTTP API callbacks of the service loop: request, body, response. Service thread only.
extension ServiceLoop {
    private static let methods: [(lws_token_indexes, String)] = [
        (WSI_TOKEN_GET_URI, "GET"), (WSI_TOKEN_POST_URI, "POST"), (WSI_TOKEN_PUT_URI, "PUT"),
        (WSI_TOKEN_DELETE_URI, "DELETE"), (WSI_TOKEN_PATCH_URI, "PATCH"), (WSI_TOKEN_OPTIONS_URI, "OPTIONS"),
    ]

    func httpRequest(_ id: ConnectionID, wsi: OpaquePointer, path: String) -> Int32 {
        var method = "UNKNOWN"
        for (token, name) in Self.methods where lws_hdr_total_length(wsi, token) > 0 {
            method = name
            break
        }
        let request = HTTPRequest(method: method, path: path, authorization: header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION))
        let exchange = HTTPExchange(id: id, wsi: wsi, request: request)
        exchanges[id] = exchange
        exchange.declaredLength = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH).flatMap { Int($0) }
        if let length = exchange.declaredLength, length > core.limits.maxRequestBodyBytes {
            exchange.closeAfter = true
            respond(id, api.payloadTooLarge)
            return 0
        }
        let chunked = header(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)?.lowercased().contains("chunked") ?? false
        if (exchange.declaredLength ?? 0) == 0 && !chunked {
            decide(exchange)  // no body
        }
        return 0  // a body follows: wait for HTTP_BODY_COMPLETION
    }

    func httpBody(_ id: ConnectionID, _ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard let exchange = exchanges[id], exchange.response == nil else { return 0 }
        guard exchange.request.body.count + bytes.count <= core.limits.maxRequestBodyBytes else {
            exchange.closeAfter = true
            respond(id, api.payloadTooLarge)
            return 0
        }
        exchange.request.body.append(contentsOf: bytes)
        return 0
    }

    func httpBodyComplete(_ id: ConnectionID) -> Int32 {
        guard let exchange = exchanges[id], exchange.response == nil else { return 0 }
        decide(exchange)
        return 0
    }

    /// Runs the API on a complete request; session creation goes through the disk writer first.
    private func decide(_ exchange: HTTPExchange) {
        switch api.handle(exchange.request, core: core, now: Date()) {
        case .respond(let response):
            respond(exchange.id, response)
        case .persistSession(let record, let response):
            let store = sessionStore, inbox = self.inbox, id = exchange.id
            writer.submit {
                do {
                    try store.save(record)
                    inbox.post(.sessionPersisted(id, record, response, failure: nil))
                } catch {
                    inbox.post(.sessionPersisted(id, record, response, failure: "\(error)"))
                }
            }
        }
    }

    /// Sets the response of a waiting exchange and asks to write it.
    func respond(_ id: ConnectionID, _ response: HTTPResponse) {
        guard let exchange = exchanges[id], exchange.response == nil else { return }
        exchange.response = response
        lws_callback_on_writable(exchange.wsi)
    }

    func httpWriteable(_ id: ConnectionID) -> Int32 {
        guard let exchange = exchanges[id], let response = exchange.response else { return 0 }
        if !exchange.headersSent {
            exchange.headersSent = true
            guard writeHeaders(exchange.wsi, response) else { return -1 }
            lws_callback_on_writable(exchange.wsi)
            return 0
        }
        let payload = scratch + pre
        response.body.withUnsafeBytes { payload.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(payload), byteCount: $0.count) }
        guard lws_write(exchange.wsi, payload.assumingMemoryBound(to: UInt8.self), response.body.count, LWS_WRITE_HTTP_FINAL) >= response.body.count else { return -1 }
        exchanges[id] = nil
        if exchange.closeAfter { return -1 }
        return lws_http_transaction_completed(exchange.wsi) != 0 ? -1 : 0
    }

    func httpClosed(_ id: ConnectionID) {
        exchanges[id] = nil
    }

    private func writeHeaders(_ wsi: OpaquePointer, _ response: HTTPResponse) -> Bool {
        let capacity = 2048
        let start = (scratch + pre).assumingMemoryBound(to: UInt8.self)
        let end = start + capacity
        var p: UnsafeMutablePointer<UInt8>? = start
        guard lws_add_http_common_headers(wsi, UInt32(response.status), response.contentType, lws_filepos_t(response.body.count), &p, end) == 0
        else { return false }
        for (name, value) in Self.securityHeaders {
            guard lws_add_http_header_by_name(wsi, name, value, Int32(value.utf8.count), &p, end) == 0 else { return false }
        }
        return lws_finalize_write_http_header(wsi, start, &p, end) == 0
    }

    private static let securityHeaders: [(String, String)] = [
        ("cache-control:", "no-store"),
        ("x-content-type-options:", "nosniff"),
        ("referrer-policy:", "no-referrer"),
        ("strict-transport-security:", "max-age=31536000"),
    ]
}
