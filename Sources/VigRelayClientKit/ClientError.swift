/// Everything that can make a `vigrelay-client` command fail, each with its exit status and a message
/// that says what happened and what to do.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A command-line value that does not parse.
    case usage(String)
    /// The relay refused the token (`unauthorized`, `forbidden`, `invite_replaced`, HTTP 401/403).
    case tokenRefused(code: String, message: String)
    /// The relay refused `load --metrics-token` at `GET /metrics`.
    case metricsTokenRefused(code: String, message: String)
    /// The invite is neither a token nor a join URL this client can read.
    case malformedInvite(String)
    /// No TCP connection to the relay (refused, no route, timed out).
    case unreachable(server: String, detail: String)
    /// The relay's certificate did not verify against the trusted CAs.
    case untrustedCertificate(server: String)
    /// The TLS handshake failed for another reason.
    case tls(server: String, detail: String)
    /// `--ca FILE` cannot be read.
    case caFileUnreadable(path: String)
    /// The relay answered, but not as the protocol says (an error code, an early close, no welcome).
    case protocolError(String)
    /// A local file could not be read or written.
    case io(String)
    /// `pair` saw lost, corrupt or reordered frames (the report says which).
    case verificationFailed(String)
    /// Ctrl-C or SIGTERM ended a request before its answer (what was left undone is said).
    case interrupted(String)

    /// The process exit status for this error: 1 protocol, 2 connection/TLS, 3 refused token, 64 usage,
    /// 130 interrupted (as a shell reports a command ended by Ctrl-C).
    public var exitCode: Int32 {
        switch self {
        case .usage: return 64
        case .tokenRefused, .metricsTokenRefused, .malformedInvite: return 3
        case .unreachable, .untrustedCertificate, .tls, .caFileUnreadable: return 2
        case .protocolError, .io, .verificationFailed: return 1
        case .interrupted: return 130
        }
    }

    public var description: String {
        switch self {
        case .usage(let text):
            return text
        case .tokenRefused(let code, let message):
            let hint = switch code {
            case "forbidden":
                "this token is valid but may not do this here: use the token of the practitioner who created the session (its supervisor's only reads recordings and clips), or this session's family invite"
            case "invite_replaced":
                "use the session's newest link; the practitioner makes one with 'vigrelay-client invite'"
            default:
                "practitioner tokens come from 'vigrelay token practitioner --id ID' on the server, family invites from 'vigrelay-client create'"
            }
            return "token refused by the relay (\(code)): \(message.isEmpty ? "no details given" : message). What to do: \(hint)"
        case .metricsTokenRefused(let code, let message):
            return "--metrics-token refused by the relay (\(code)): \(message.isEmpty ? "no details given" : message). "
                + "What to do: make one with 'vigrelay token metrics --id ID' on the relay's machine, with its data directory"
        case .malformedInvite(let detail):
            return "the invite cannot be read (\(detail)); pass the inviteToken or the joinUrl printed by 'vigrelay-client create'"
        case .unreachable(let server, let detail):
            return "cannot connect to the relay at \(server) (\(detail)); check that 'vigrelay serve' is running there and that --server is right"
        case .untrustedCertificate(let server):
            return "the TLS certificate of \(server) is not trusted (or does not name that host); pass --ca certs/dev/ca.crt (the CA that signed it), or --insecure for a throwaway test"
        case .tls(let server, let detail):
            return "TLS handshake with \(server) failed (\(detail)); check --server (it must be the relay's https port) and --ca"
        case .caFileUnreadable(let path):
            return "CA file \(path) cannot be read; pass the relay's CA certificate, e.g. --ca certs/dev/ca.crt"
        case .protocolError(let text), .io(let text), .verificationFailed(let text), .interrupted(let text):
            return text
        }
    }
}
