import CLibWebSockets
import Foundation

/// Which server certificates the client accepts.
public enum ClientTrust: Sendable, Equatable {
    /// The operating system's CA store.
    case system
    /// The CAs in a PEM file (e.g. `certs/dev/ca.crt`), beside the system store.
    case caFile(String)
    /// Any certificate, any host name: only for throwaway tests.
    case insecure

    /// Reads `--ca FILE` / `--insecure`; refuses both together and a CA file that cannot be read.
    public static func from(caFile: String?, insecure: Bool) throws(ClientError) -> ClientTrust {
        switch (caFile, insecure) {
        case (.some, true):
            throw .usage("--ca and --insecure exclude each other: trust the relay's CA with --ca FILE, or skip verification with --insecure")
        case (.some(let path), false):
            guard FileManager.default.isReadableFile(atPath: path) else { throw .caFileUnreadable(path: path) }
            return .caFile(path)
        case (nil, true):
            return .insecure
        case (nil, false):
            return .system
        }
    }

    /// `ssl_connection` flags for `lws_client_connect_via_info`.
    var connectionFlags: Int32 {
        var flags = Int32(LCCSCF_USE_SSL.rawValue)
        if self == .insecure {
            flags |= Int32(LCCSCF_ALLOW_SELFSIGNED.rawValue | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK.rawValue | LCCSCF_ALLOW_INSECURE.rawValue)
        }
        return flags
    }
}
