import CLibWebSockets
import Foundation
import Logging

/// The server's TLS certificate chain and private key, read and checked together, so that a renewed
/// certificate can replace the one in use without a restart (SIGHUP: `RelayServer.requestCertificateReload`).
///
/// Read as lws reads `--cert` and `--key` at start (the PEM chain file, the server's certificate
/// first, then the key) into an SSL_CTX of its own that only holds them. `install(into:)` then puts
/// certificate, chain and key into the serving SSL_CTX in one OpenSSL call that checks them before
/// it changes anything: new handshakes get the new certificate, connections already open keep theirs
/// (each SSL copied the certificate when it was made). At start the same reading checks the pair
/// before lws does, for a clearer message than lws's, and says what is served.
///
/// Thread: read on one thread (the start-up thread, or the reader thread for a reload), then handed
/// whole to the service thread, which installs it; never used by two threads at once.
final class ServingCertificate: @unchecked Sendable {
    /// An SSL_CTX holding only the certificate, its chain and the key; freed with this object.
    private let holder: OpaquePointer
    /// The certificate's subject, as OpenSSL prints it in one line (`/CN=relay.example.org`).
    let subject: String
    let notBefore: Date
    let notAfter: Date
    /// SHA-256 of the certificate, as `openssl x509 -noout -fingerprint -sha256` prints it.
    let fingerprint: String
    /// The key's algorithm (`RSA`, `EC`, `ED25519`...).
    let keyType: String

    private init(holder: OpaquePointer, leaf: OpaquePointer, keyType: String) {
        self.holder = holder
        self.keyType = keyType
        var name = [CChar](repeating: 0, count: 256)
        subject = name.withUnsafeMutableBufferPointer { buffer in
            X509_NAME_oneline(X509_get_subject_name(leaf), buffer.baseAddress, Int32(buffer.count)).map { String(cString: $0) } ?? "?"
        }
        notBefore = Self.date(X509_get0_notBefore(leaf)) ?? .distantFuture
        notAfter = Self.date(X509_get0_notAfter(leaf)) ?? .distantPast
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        fingerprint = X509_digest(leaf, EVP_sha256(), &digest, &length) == 1
            ? digest.prefix(Int(length)).map { String(format: "%02X", $0) }.joined(separator: ":") : "?"
    }

    deinit { SSL_CTX_free(holder) }

    /// Reads the certificate chain and the key and checks that the key is the certificate's.
    static func load(certPath: String, keyPath: String) throws(CertificateError) -> ServingCertificate {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard FileManager.default.isReadableFile(atPath: certPath) else { throw .unreadable(.certificate, path: certPath) }
        guard FileManager.default.isReadableFile(atPath: keyPath) else { throw .unreadable(.key, path: keyPath) }
        guard let holder = SSL_CTX_new(TLS_server_method()) else { throw .refused(openSSLReason()) }
        // Freed here unless handed to the object made at the end.
        var handedOver = false
        defer { if !handedOver { SSL_CTX_free(holder) } }
        guard SSL_CTX_use_certificate_chain_file(holder, certPath) == 1, let leaf = SSL_CTX_get0_certificate(holder) else {
            throw .notACertificate(path: certPath, openSSL: openSSLReason())
        }
        // The key is read apart from the certificate, so that "not a key" and "another certificate's
        // key" get messages of their own (SSL_CTX_use_PrivateKey_file says one thing for both).
        let file = BIO_new_file(keyPath, "r")
        let key = file.flatMap { PEM_read_bio_PrivateKey($0, nil, vr_no_passphrase, nil) }
        if let file { BIO_free(file) }
        guard let key else {
            throw .notAKey(path: keyPath, openSSL: openSSLReason())
        }
        defer { EVP_PKEY_free(key) }
        guard X509_check_private_key(leaf, key) == 1 else {
            throw .keyMismatch(certPath: certPath, keyPath: keyPath)
        }
        guard SSL_CTX_use_PrivateKey(holder, key) == 1 else {
            throw .refused(openSSLReason())
        }
        let keyType = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "?"
        handedOver = true
        return ServingCertificate(holder: holder, leaf: leaf, keyType: keyType)
    }

    /// Throws when the certificate is not valid at `now` (expired, or not yet valid): a reload refuses
    /// such a certificate and keeps the one in use; at start it is only warned about.
    func checkValid(at now: Date) throws(CertificateError) {
        if now > notAfter { throw .expired(notAfter: notAfter) }
        if now < notBefore { throw .notYetValid(notBefore: notBefore) }
    }

    /// Warns when it expires within `warningDays`: at start and at a reload, for operators who do not
    /// alert on `GET /metrics`.
    func warnIfExpiringSoon(_ logger: Logger, now: Date = Date()) {
        let left = notAfter.timeIntervalSince(now)
        guard left >= 0, left < Double(Self.warningDays * 86_400) else { return }
        let days = Int(left / 86_400)
        let when = days == 0 ? "in under a day" : "in \(days) day\(days == 1 ? "" : "s")"
        logger.warning("TLS certificate expires \(when): renew it, then reload the relay (SIGHUP, systemctl reload vigrelay)",
                       metadata: logMetadata)
    }

    /// Days of validity below which the log warns (certbot renews 30 days ahead).
    static let warningDays = 14

    /// Puts this certificate, its chain and key into the serving SSL_CTX, replacing the ones there.
    /// Service thread (the only one that makes connections from `context`).
    func install(into context: OpaquePointer) throws(CertificateError) {
        // OpenSSL keeps a certificate per key type: one of another type would be added beside the
        // old one instead of replacing it, and a client could still be given the old one.
        if let current = SSL_CTX_get0_privatekey(context), let name = EVP_PKEY_get0_type_name(current),
           String(cString: name) != keyType {
            throw .keyTypeChanged(from: String(cString: name), to: keyType)
        }
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard SSL_CTX_use_cert_and_key(context, SSL_CTX_get0_certificate(holder), SSL_CTX_get0_privatekey(holder),
                                       vr_ssl_ctx_chain(holder), 1) == 1 else {
            throw .refused(Self.openSSLReason())
        }
    }

    /// What the log says of it.
    var logMetadata: Logger.Metadata {
        ["tls.subject": "\(subject)", "tls.not.after": "\(notAfter.formatted(.iso8601))", "tls.sha256": "\(fingerprint)"]
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date? {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }

    /// OpenSSL's reason for the first error on this thread's queue ("no start line", ...).
    private static func openSSLReason() -> String {
        let code = ERR_get_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return "no reason given" }
        return String(cString: reason)
    }
}

/// Why a certificate and key cannot be served; each message says what to do.
public enum CertificateError: Error, CustomStringConvertible {
    public enum File: Sendable { case certificate, key }
    case unreadable(File, path: String)
    case notACertificate(path: String, openSSL: String)
    case notAKey(path: String, openSSL: String)
    case keyMismatch(certPath: String, keyPath: String)
    case expired(notAfter: Date)
    case notYetValid(notBefore: Date)
    case keyTypeChanged(from: String, to: String)
    case refused(String)

    /// Whether the relay would not start with these files either (an expired certificate is served
    /// at start with a warning, and a key of another type is what a restart is for).
    public var stopsStart: Bool {
        switch self {
        case .unreadable, .notACertificate, .notAKey, .keyMismatch, .refused: return true
        case .expired, .notYetValid, .keyTypeChanged: return false
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let file, let path):
            let (what, option) = file == .certificate ? ("TLS certificate", "--cert") : ("TLS key", "--key")
            return FileManager.default.fileExists(atPath: path)
                ? "\(what) \(path) cannot be read by this user: give it read access (e.g. chgrp to the server's group, mode 0640)"
                : "\(what) not found at \(path): run certs/make-dev-cert.sh or pass \(option) FILE"
        case .notACertificate(let path, let reason):
            return "no certificate could be read from \(path) (OpenSSL: \(reason)): --cert must be the certificate chain in PEM, the server's certificate first (certbot's fullchain.pem)"
        case .notAKey(let path, let reason):
            return "no private key could be read from \(path) (OpenSSL: \(reason)): --key must be the certificate's private key in PEM, without a passphrase (certbot's privkey.pem)"
        case .keyMismatch(let certPath, let keyPath):
            return "the key in \(keyPath) is not the private key of the certificate in \(certPath): install the key issued with that certificate"
        case .expired(let notAfter):
            return "the certificate expired at \(notAfter.formatted(.iso8601)): renew it"
        case .notYetValid(let notBefore):
            return "the certificate is not valid before \(notBefore.formatted(.iso8601)): check the clock, or install it then"
        case .keyTypeChanged(let from, let to):
            return "the new certificate's key is \(to) and the one in use \(from): restart the relay to change the key type"
        case .refused(let reason):
            return "OpenSSL refused the certificate and key (\(reason))"
        }
    }
}
