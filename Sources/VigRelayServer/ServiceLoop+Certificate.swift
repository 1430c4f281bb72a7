import Foundation
import Logging

/// Reloading the TLS certificate (SIGHUP) on the service thread: the reader thread reads and checks
/// the files, and the result comes back as `certificateLoaded`. Service thread only.
extension ServiceLoop {
    /// Has the reader thread read `--cert` and `--key` again (file reads stay off this thread).
    func reloadCertificate() {
        guard !shuttingDown else { return }
        let certPath = configuration.certPath, keyPath = configuration.keyPath, inbox = self.inbox
        logger.info("reloading the TLS certificate", metadata: ["cert": "\(certPath)", "key": "\(keyPath)"])
        reader.submit {
            inbox.post(.certificateLoaded(Result { () throws(CertificateError) in
                try ServingCertificate.load(certPath: certPath, keyPath: keyPath)
            }))
        }
    }

    /// Installs a certificate the reader read, if it can be served now; otherwise the one in use
    /// stays and the log says why and what to do.
    func certificateLoaded(_ result: Result<ServingCertificate, CertificateError>) {
        do {
            // lws hands it over as it makes the vhost, before any event; without it nothing can be installed.
            guard let tlsContext else { throw CertificateError.refused("the server has no TLS context") }
            let certificate = try result.get()
            try certificate.checkValid(at: Date())
            try certificate.install(into: tlsContext)
            metrics.certificateReloaded(certificate)
            logger.notice("TLS certificate reloaded: new connections get it, open ones keep the one they began with",
                          metadata: certificate.logMetadata)
            certificate.warnIfExpiringSoon(logger)
        } catch {
            metrics.certificateReloadFailed()
            let restart = (error as? CertificateError)?.stopsStart == true ? ". Mend the files before the relay restarts: it would not start with them" : ""
            logger.error("TLS certificate not reloaded; the one in use stays\(restart)", metadata: ["error": "\(error)"])
        }
    }
}
