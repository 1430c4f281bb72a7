import CLibWebSockets
import Foundation

/// Builds the `lws_context_creation_info` for the server and keeps every pointer lws stores
/// (strings, protocols, retry policy) alive until the context is destroyed.
///
/// Thread: used on the service thread, around `ServiceLoop.run`.
struct LwsContextSettings {
    let configuration: ServerConfiguration

    /// Calls `body` with a filled-in creation info; the memory it points to lives until `body` returns.
    func withCreationInfo(owner: ServiceLoop, _ body: (inout lws_context_creation_info) throws -> Void) throws {
        vr_lws_set_log_level(LLL_ERR | LLL_WARN)
        var strings: [UnsafeMutablePointer<CChar>] = []
        func keep(_ s: String) -> UnsafePointer<CChar> {
            let p = strdup(s)!
            strings.append(p)
            return UnsafePointer(p)
        }
        let protocols = UnsafeMutablePointer<lws_protocols>.allocate(capacity: 3)
        protocols.initialize(repeating: lws_protocols(), count: 3)
        let retry = UnsafeMutablePointer<lws_retry_bo_t>.allocate(capacity: 1)
        retry.initialize(to: lws_retry_bo_t())
        defer {
            strings.forEach { free($0) }
            protocols.deallocate()
            retry.deallocate()
        }
        protocols[0].name = keep("http")
        protocols[0].callback = lwsHTTPCallback
        protocols[0].per_session_data_size = MemoryLayout<UInt64>.size
        protocols[1].name = keep("vigrelay.v1")
        protocols[1].callback = lwsWebSocketCallback
        protocols[1].per_session_data_size = MemoryLayout<UInt64>.size
        protocols[1].rx_buffer_size = 64 << 10
        protocols[1].tx_packet_size = ServiceLoop.fragmentSize
        // No lws validity timers (a zero policy; without one lws uses 300/310 s): each would be
        // filed in one sorted list by a linear walk. The tick sweeps `Keepalive` instead.
        retry.pointee.secs_since_valid_ping = 0
        retry.pointee.secs_since_valid_hangup = 0

        var info = lws_context_creation_info()
        info.port = Int32(configuration.port)
        let anyAddress = configuration.host == "0.0.0.0" || configuration.host == "::" || configuration.host.isEmpty
        info.iface = anyAddress ? nil : keep(configuration.host)
        info.protocols = UnsafePointer(protocols)
        info.options = UInt64(LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT) | UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8) | UInt64(LWS_SERVER_OPTION_LIBEV)
        // A request whose method lws does not know becomes a raw socket that the HTTP protocol
        // answers with our JSON 405 (`ServiceLoop.refuseMethod`), not lws's HTML 403. This option
        // touches TLS only together with ALLOW_NON_SSL_ON_SSL_PORT (lws 4.1.6 tls-server.c), which is
        // never set: a client that does not speak TLS is still dropped.
        info.options |= UInt64(LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG)
        // An IPv4 address must get an IPv4 socket: on its IPv6 socket lws 4.1 writes an IPv4 iface
        // into the wrong field of the address and binds to [::], every interface (127.0.0.1 was
        // reachable from the network).
        var ipv4 = in_addr()
        if !anyAddress, inet_pton(AF_INET, configuration.host, &ipv4) == 1 {
            info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6)
        }
        info.ssl_cert_filepath = keep(configuration.certPath)
        info.ssl_private_key_filepath = keep(configuration.keyPath)
        info.alpn = keep("http/1.1")
        // TLS 1.3 suites in the server's order (lws sets server preference): AES-128-GCM first, as
        // browsers prefer it; it is ~15% cheaper per byte than AES-256-GCM here (openssl speed), and
        // every relayed byte is decrypted once and encrypted once.
        info.tls1_3_plus_cipher_list = keep("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
        info.pt_serv_buf_size = 256 << 10
        info.max_http_header_data = 16 << 10
        info.retry_and_idle_policy = UnsafePointer(retry)
        info.user = Unmanaged.passUnretained(owner).toOpaque()
        try body(&info)
    }
}
