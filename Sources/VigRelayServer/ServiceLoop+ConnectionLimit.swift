import CLibWebSockets
import Glibc
import VigRelayCore

/// The per-address connection limit (`--max-connections-per-address`, `ConnectionQuota`): every
/// accepted connection is counted against its peer's address until lws destroys it. Service thread only.
extension ServiceLoop {
    /// What the limit knows of one open connection.
    struct ConnectionPeer {
        let address: PeerAddress
        /// Accepted past the limit: its first request or WebSocket is answered `too_many_connections`.
        let pastLimit: Bool
    }

    /// lws accepted a connection (`LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED`, before its TLS
    /// handshake): counts it. One past the limit is still accepted, so that it can be told why.
    func connectionAccepted(_ wsi: OpaquePointer) {
        guard connectionQuota.limit > 0, let address = Self.peerAddress(socket: lws_get_socket_fd(wsi)) else { return }
        let admission = connectionQuota.opened(address, nowSeconds: Int64(Self.monotonicNanos() / 1_000_000_000))
        connectionPeers[wsi] = ConnectionPeer(address: address, pastLimit: admission != .admitted)
        if case .overLimit(let report?) = admission {
            logger.warning("connections refused: an address is at its connection limit (each is answered too_many_connections)",
                           metadata: ["peer.address": "\(address)", "limit": "\(connectionQuota.limit)", "refused": "\(report)",
                                      "next.report": "after \(ConnectionQuota.reportIntervalSeconds) s at the earliest"])
        }
    }

    /// lws is freeing a connection (`LWS_CALLBACK_WSI_DESTROY`): it no longer counts. lws 4.1.6
    /// (`adopt.c`, `close.c`) sends this for every connection it instantiated, however it ends; the
    /// only path that frees one without it fails before `SERVER_NEW_CLIENT_INSTANTIATED`.
    func connectionDestroyed(_ wsi: OpaquePointer) {
        guard let peer = connectionPeers.removeValue(forKey: wsi) else { return }
        connectionQuota.closed(peer.address)
    }

    /// Whether `wsi` was accepted past its address's limit.
    func isPastConnectionLimit(_ wsi: OpaquePointer) -> Bool {
        connectionPeers[wsi]?.pastLimit ?? false
    }

    /// The peer address of a connected socket, or nil if it has none (closed, or not IP).
    private static func peerAddress(socket fd: Int32) -> PeerAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard got == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafeBytes(of: &storage) { raw in
                var v4 = raw.load(as: sockaddr_in.self).sin_addr
                return withUnsafeBytes(of: &v4) { PeerAddress(bytes: $0) }
            }
        case AF_INET6:
            return withUnsafeBytes(of: &storage) { raw in
                var v6 = raw.load(as: sockaddr_in6.self).sin6_addr
                return withUnsafeBytes(of: &v6) { PeerAddress(bytes: $0) }
            }
        default:
            return nil
        }
    }
}
