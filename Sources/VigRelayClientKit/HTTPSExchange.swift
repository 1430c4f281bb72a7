import CLibWebSockets
import Foundation

/// A complete HTTP response as the client received it.
public struct HTTPReply: Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// The body (at most 1 MiB is kept); empty when a successful body went to a file.
    public var body: [UInt8]
    /// Bytes written to the file given for a successful (2xx) body.
    public var savedBytes: Int64 = 0
}

/// One HTTPS request with a small body over the lws client, HTTP/1.1; a successful answer's body
/// may go to a file instead of memory (downloads).
///
/// Headers go in `LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER`, the body in one write in
/// `LWS_CALLBACK_CLIENT_HTTP_WRITEABLE`, the response is read with `lws_http_client_read`.
/// Thread: see `LoopConnection` (lws thread after hand-over); `result` is thread-safe.
final class HTTPSExchange: LoopConnection, @unchecked Sendable {
    let id: UInt64
    /// Fulfilled once, with the reply or why there is none.
    let result = Latch<Result<HTTPReply, ClientError>>()
    private let method: String
    private let path: String
    private let headers: [(name: String, value: String)]
    private let body: [UInt8]
    private let endpoint: ServerEndpoint
    private let trust: ClientTrust
    private weak var loop: ClientLoop?

    /// Called once on the lws thread right after `result` is fulfilled (set it before `open`).
    var onFinish: (@Sendable () -> Void)?

    private var status = 0
    private var response: [UInt8] = []
    /// Where a 2xx body goes, if anywhere; written on the lws thread (a command-line download).
    private let saveTo: FileHandle?
    private var savedBytes: Int64 = 0
    private var saveError: String?
    private var bodySent = false
    private var certificateRejected = false

    init(loop: ClientLoop, method: String, path: String, headers: [(name: String, value: String)], body: [UInt8],
         saveTo: FileHandle? = nil) {
        self.saveTo = saveTo
        self.id = loop.makeConnectionID()
        self.method = method
        self.path = path
        self.headers = headers + [("content-length", "\(body.count)")]
        self.body = body
        self.endpoint = loop.endpoint
        self.trust = loop.trust
        self.loop = loop
    }

    func connect(context: OpaquePointer, loop: ClientLoop) {
        let started = startClientConnection(context: context, endpoint: endpoint, trust: trust, path: path, method: method, id: id)
        if !started { finish(.failure(ConnectFailure.classify("Unable to connect", certificateRejected: certificateRejected, server: endpoint))) }
    }

    func wake() {}

    func abandon() { finish(.failure(.protocolError("the client stopped before the relay answered"))) }

    func handle(_ wsi: OpaquePointer, _ reason: lws_callback_reasons, _ user: UnsafeMutableRawPointer?,
                _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
            if len == 0 { certificateRejected = true }
            return 0
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let detail = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
            finish(.failure(ConnectFailure.classify(detail, certificateRejected: certificateRejected, server: endpoint)))
            return 0
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            return appendHeaders(wsi, input, len)
        case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
            return writeBody(wsi)
        case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
            status = Int(lws_http_client_http_response(wsi))
            return 0
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
            guard let loop else { return -1 }
            var buffer: UnsafeMutablePointer<CChar>? = loop.scratch.assumingMemoryBound(to: CChar.self) + loop.pre
            var room = Int32(ClientLoop.fragmentSize)
            return lws_http_client_read(wsi, &buffer, &room) < 0 ? -1 : 0
        case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
            guard let input else { return 0 }
            let bytes = UnsafeRawBufferPointer(start: input, count: len)
            if let saveTo, (200..<300).contains(status) {
                do { try saveTo.write(contentsOf: bytes) } catch {
                    saveError = "\(error)"
                    return -1
                }
                savedBytes += Int64(len)
            } else if response.count + len <= 1 << 20 {
                response.append(contentsOf: bytes)
            }
            return 0
        case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
            finish(reply())
            return 0
        case LWS_CALLBACK_CLOSED_CLIENT_HTTP, LWS_CALLBACK_WSI_DESTROY:
            if status > 0, saveTo != nil, (200..<300).contains(status) {
                finish(.failure(.protocolError("the relay closed the connection after \(savedBytes) bytes, before the whole file arrived")))
            } else {
                finish(status > 0 ? reply()
                                  : .failure(ConnectFailure.classify("connection closed before a response", certificateRejected: certificateRejected, server: endpoint)))
            }
            return 0
        default:
            return lws_callback_http_dummy(wsi, reason, user, input, len)
        }
    }

    private func appendHeaders(_ wsi: OpaquePointer, _ input: UnsafeMutableRawPointer?, _ len: Int) -> Int32 {
        guard let input else { return -1 }
        let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self)
        guard let start = cursor.pointee else { return -1 }
        let end = start + len
        for header in headers {
            let name = Array((header.name.lowercased() + ":").utf8) + [0]
            let value = Array(header.value.utf8)
            let failed = lws_add_http_header_by_name(wsi, name, value, Int32(value.count), cursor, end)
            if failed != 0 { return -1 }
        }
        lws_client_http_body_pending(wsi, 1)
        lws_callback_on_writable(wsi)
        return 0
    }

    private func writeBody(_ wsi: OpaquePointer) -> Int32 {
        guard !bodySent, let loop else { return 0 }
        bodySent = true
        let payload = loop.scratch + loop.pre
        body.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { payload.copyMemory(from: base, byteCount: min(bytes.count, ClientLoop.fragmentSize)) }
        }
        let count = min(body.count, ClientLoop.fragmentSize)
        lws_client_http_body_pending(wsi, 0)
        let written = lws_write(wsi, payload.assumingMemoryBound(to: UInt8.self), count, LWS_WRITE_HTTP_FINAL)
        return written < count ? -1 : 0
    }

    private func reply() -> Result<HTTPReply, ClientError> {
        if let saveError { return .failure(.io("cannot write the download: \(saveError)")) }
        return .success(HTTPReply(status: status, body: response, savedBytes: savedBytes))
    }

    private func finish(_ outcome: Result<HTTPReply, ClientError>) {
        guard result.fulfil(outcome) else { return }
        loop?.forget(id)
        onFinish?()
    }
}
