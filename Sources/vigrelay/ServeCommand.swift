import ArgumentParser
import CLinuxIO
import Dispatch
import Foundation
import Logging
import VigRelayCore
import VigRelayServer
import VigRelayStorage
#if canImport(Glibc)
import Glibc
#endif

/// `vigrelay serve`: runs the relay until SIGTERM or SIGINT; SIGHUP reloads the certificate.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the relay server.",
        discussion: "SIGTERM or SIGINT stops it (connections closed with 1001). SIGHUP (systemctl reload) reads --cert and --key again: new connections get them, open calls go on, and a pair that cannot be served is logged while the one in use stays.")

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen = "127.0.0.1:8443"

    @OptionGroup var secret: SecretOptions

    @Option(help: "TLS certificate chain (PEM, the server's certificate first); read again on SIGHUP.")
    var cert = "certs/dev/server.crt"

    @Option(help: "TLS private key (PEM, no passphrase); read again on SIGHUP.")
    var key = "certs/dev/server.key"

    @Option(name: .customLong("public-url"), help: "Base of joinUrl given to families (default: https:// and the listen address).")
    var publicURL: String?

    @Option(name: .customLong("max-message-bytes"), help: "Largest WebSocket message accepted.")
    var maxMessageBytes = RelayLimits().maxMessageBytes

    @Option(name: .customLong("viewer-queue-bytes"), help: "Bytes of media a live viewer's send queue always may hold before it skips to the next keyframe (at least 1 MiB).")
    var viewerQueueBytes = RelayLimits().viewerQueueBytes

    @Option(name: .customLong("viewer-queue-time"), help: "How much of its stream's recent media a live viewer's send queue may hold when that is more than --viewer-queue-bytes, e.g. 4s (1s-60s; at most four times --viewer-queue-bytes).")
    var viewerQueueTime = "\(RelayLimits().viewerQueueSeconds)s"

    @Option(name: .customLong("hello-timeout"), help: "Seconds a new WebSocket has to send hello.")
    var helloTimeout = RelayLimits().helloTimeoutSeconds

    @Option(name: .customLong("invite-ttl"), help: "Lifetime of family invites, e.g. 7d.")
    var inviteTTL = "7d"

    @Option(name: .customLong("request-body-timeout"), help: "How long an HTTP request body (at most 64 KiB) may take to arrive in full, e.g. 30s; a slower one gets 408 and the connection is closed.")
    var requestBodyTimeout = "30s"

    @Option(name: .customLong("max-connections-per-address"), help: "Most connections one address (IPv4, or an IPv6 /64) may hold open; more are answered too_many_connections (HTTP 429). 0: no limit, e.g. for a load test from one machine.")
    var maxConnectionsPerAddress = RelayLimits().maxConnectionsPerAddress

    @Option(name: .customLong("recording-quota"), help: "Most media one recording may hold, e.g. 4G or a number of bytes (default: no limit); past it the recording fails cleanly.")
    var recordingQuota: String?

    @Option(name: .customLong("recording-key"), help: ArgumentHelp(
        "Encrypt recordings at rest under this key file (make one with `vigrelay recording-key FILE`; mode 0600, kept apart from the data directory).",
        discussion: "Each recording gets its own data key, wrapped by this key in its manifest; deleting a recording deletes its data key. Once used, the data directory needs this key at every start."))
    var recordingKey: String?

    @Option(name: .customLong("min-free-space"), help: "Space the data directory's file system must have left for a recording to start, e.g. 2G, 500M or a number of bytes; below it the practitioner is told disk_space_low and recordings already running go on.")
    var minFreeSpace = "2G"

    @Flag(name: .customLong("family-copies"), help: ArgumentHelp(
        "Let practitioners give the family a copy of a clip to keep, which the family saves with its link.",
        discussion: "Off by default: many services make no copies of the videos. Turn it on only where your consent form lets families keep their clips."))
    var familyCopies = false

    @Option(help: "Delete the recordings and clips of a case (a practitioner's caseRef; a session without one is a case of its own) once its last session ended longer ago than this, e.g. 30d (default: 60d); 'keep' keeps them until consent is withdrawn or the practitioner deletes them. Checked at start and periodically.")
    var retention: String?

    @Option(name: .customLong("reconnect-grace"), help: "How long a running recording waits for a side that dropped (family or practitioner), e.g. 90s or 2m; a family back in time continues it as a new part.")
    var reconnectGrace = "2m"

    @Option(name: .customLong("ping-after"), help: "How long a WebSocket may be quiet before the relay pings it, e.g. 30s.")
    var pingAfter = "30s"

    @Option(name: .customLong("silence-limit"), help: "How long a WebSocket may be silent (no message, no answer to a ping) before the relay hangs up, e.g. 70s; longer than --ping-after.")
    var silenceLimit = "70s"

    @Option(name: .customLong("web-dir"), help: "Directory of the web app (the repository's web/); default: $VIGRELAY_WEB_DIR, else found next to the executable.")
    var webDir: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard parseListen() != nil else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443)")
        }
        guard (1024...(1 << 30)).contains(maxMessageBytes) else {
            throw ValidationError("--max-message-bytes must be between 1024 and 1073741824")
        }
        guard (1 << 20...1 << 30).contains(viewerQueueBytes) else {
            throw ValidationError("--viewer-queue-bytes must be between 1048576 (1 MiB) and 1073741824 (1 GiB)")
        }
        guard let queueTime = DurationParser.seconds(viewerQueueTime), queueTime <= 60 else {
            throw ValidationError("--viewer-queue-time '\(viewerQueueTime)' must be a duration from 1s to 60s, e.g. 4s")
        }
        guard (1...300).contains(helloTimeout) else { throw ValidationError("--hello-timeout must be 1-300 seconds") }
        guard maxConnectionsPerAddress >= 0 else {
            throw ValidationError("--max-connections-per-address must be 0 (no limit) or a positive number of connections")
        }
        guard DurationParser.seconds(inviteTTL) != nil else {
            throw ValidationError(DurationParser.usage(option: "--invite-ttl", value: inviteTTL))
        }
        guard let bodyTimeout = DurationParser.seconds(requestBodyTimeout), bodyTimeout >= 1, bodyTimeout <= 600 else {
            throw ValidationError("--request-body-timeout '\(requestBodyTimeout)' must be a duration from 1s to 10m, e.g. 30s")
        }
        if let publicURL, !(publicURL.hasPrefix("https://") && URL(string: publicURL)?.host != nil) {
            throw ValidationError("--public-url '\(publicURL)' must be an absolute https:// URL, e.g. https://relay.example.org")
        }
        if let retention, retention != Self.keepForever, DurationParser.seconds(retention) == nil {
            throw ValidationError(DurationParser.usage(option: "--retention", value: retention) + ", or keep")
        }
        if let recordingQuota {
            guard let bytes = ByteCountParser.bytes(recordingQuota) else {
                throw ValidationError(ByteCountParser.usage(option: "--recording-quota", value: recordingQuota))
            }
            guard bytes > 0 else { throw ValidationError("--recording-quota must be more than 0 (leave it out for no limit)") }
        }
        guard ByteCountParser.bytes(minFreeSpace) != nil else {
            throw ValidationError(ByteCountParser.usage(option: "--min-free-space", value: minFreeSpace) + " (0: never hold recordings back)")
        }
        guard let grace = DurationParser.seconds(reconnectGrace) else {
            throw ValidationError(DurationParser.usage(option: "--reconnect-grace", value: reconnectGrace))
        }
        guard grace <= Self.maxReconnectGraceSeconds else {
            throw ValidationError("--reconnect-grace '\(reconnectGrace)' is too long: at most 1h (a recording must not run on unattended for long)")
        }
        guard let ping = DurationParser.seconds(pingAfter), ping >= 1, ping <= 3600 else {
            throw ValidationError("--ping-after '\(pingAfter)' must be a duration from 1s to 1h, e.g. 30s")
        }
        guard let silence = DurationParser.seconds(silenceLimit), silence > ping, silence <= 7200 else {
            throw ValidationError("--silence-limit '\(silenceLimit)' must be a duration longer than --ping-after (\(ping) s) and at most 2h, e.g. 70s")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel)!
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "vigrelay")
        // A reload asked for while the server starts (reading its sessions can take seconds) must not
        // end it: SIGHUP's default action would, and systemd counts that as a clean stop, so it would
        // not restart it. Ignored until the handlers below are set; what SIGHUP meant is read first.
        let hangup = HangupSignal.atStart()
        signal(SIGHUP, SIG_IGN)
        // Before any thread allocates: at most 256 MiB kept free per arena, blocks under 4 MiB from
        // the heap (messages are at most `--max-message-bytes`, 16 MiB by default, and rarely over 1 MiB).
        // At one recorded pair of 64 KiB frames this saved about 5% of the relay's CPU per GB
        // (the pages faulted in and zeroed again, the disk writer's madvise).
        if vr_keep_freed_memory(256 << 20, 4 << 20) != 1 {
            logger.notice("malloc kept its defaults (mallopt refused): freed memory goes back to the kernel at once")
        }
        var config = ServerConfiguration()
        (config.host, config.port) = parseListen()!
        config.dataDir = secret.dataDir
        config.certPath = cert
        config.keyPath = key
        config.publicURL = publicURL
        config.limits.maxMessageBytes = maxMessageBytes
        config.limits.helloTimeoutSeconds = helloTimeout
        config.limits.viewerQueueBytes = viewerQueueBytes
        config.limits.viewerQueueSeconds = DurationParser.seconds(viewerQueueTime)!
        config.limits.maxConnectionsPerAddress = maxConnectionsPerAddress
        config.limits.inviteTTLSeconds = DurationParser.seconds(inviteTTL)!
        config.limits.requestBodySeconds = DurationParser.seconds(requestBodyTimeout)!
        config.recordingQuotaBytes = recordingQuota.flatMap(ByteCountParser.bytes)
        config.limits.minFreeSpaceBytes = ByteCountParser.bytes(minFreeSpace)!
        config.limits.familyCopies = familyCopies
        if let recordingKey {
            do { config.recordingKeyring = try RecordingKeyFile.load(path: recordingKey) } catch {
                logger.error("\(error)")
                throw ExitCode(2)
            }
        }
        if let retention { config.limits.retentionSeconds = retention == Self.keepForever ? nil : DurationParser.seconds(retention) }
        config.limits.reconnectGraceSeconds = DurationParser.seconds(reconnectGrace)!
        config.keepalive = Keepalive.Policy(pingAfterSeconds: Double(DurationParser.seconds(pingAfter)!),
                                            hangUpAfterSeconds: Double(DurationParser.seconds(silenceLimit)!))
        let explicitWebDir = webDir ?? ProcessInfoEnvironment.value("VIGRELAY_WEB_DIR")
        // /proc/self/exe: the real binary even when started through PATH or a symlink.
        config.webDir = WebSiteLoader.locate(explicit: explicitWebDir, executablePath: "/proc/self/exe")
        if let delay = ProcessInfoEnvironment.value("VIGRELAY_TEST_WRITER_DELAY_MS") {
            // Test only (see ServerConfiguration.testWriterDelayMs); read once, here.
            guard let ms = Int(delay), (0...10_000).contains(ms) else {
                logger.error("VIGRELAY_TEST_WRITER_DELAY_MS must be 0-10000 milliseconds (a test hook); unset it")
                throw ExitCode(2)
            }
            config.testWriterDelayMs = ms
        }

        let server: RelayServer
        do {
            server = try RelayServer(configuration: config, secretFile: secret.effectiveSecretFile, logger: logger)
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        // SIGHUP reloads the certificate, as it reloads nginx's configuration (systemctl reload),
        // unless it is the hangup of the terminal the server was started from.
        let actions: [(Int32, @Sendable () -> Void)] = [
            (SIGTERM, server.requestShutdown), (SIGINT, server.requestShutdown),
            (SIGHUP, {
                switch hangup.meaning() {
                case .reloadCertificate: server.requestCertificateReload()
                case .stop:
                    logger.notice("the terminal the server was started from went away (SIGHUP): stopping")
                    server.requestShutdown()
                case .carryOn:
                    logger.notice("the terminal the server was started from went away; started with SIGHUP ignored (nohup), it carries on")
                }
            }),
        ]
        let signals = actions.map { number, action in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
        printWelcome(config)
        do {
            try server.run()
        } catch {
            logger.error("\(error)")
            throw ExitCode(2)
        }
        signals.forEach { $0.cancel() }
    }

    private func printWelcome(_ config: ServerConfiguration) {
        var tokenCommand = "vigrelay token practitioner --id YOUR-ID --data-dir \(config.dataDir)"
        if let file = secret.effectiveSecretFile { tokenCommand += " --secret-file \(file)" }
        // The development CA only goes with the development certificate; a real one is trusted as it is.
        let trust = config.certPath.hasSuffix("certs/dev/server.crt") ? " --ca certs/dev/ca.crt" : ""
        FileHandle.standardError.write(Data("""
            vigrelay serving on \(config.effectivePublicURL)  (Ctrl-C to stop)
              get a practitioner token:  \(tokenCommand)
              try it with the client:    vigrelay-client pair --server \(config.effectivePublicURL)\(trust) --token TOKEN

            """.utf8))
    }

    /// The `--retention` value that turns retention off.
    static let keepForever = "keep"

    /// Longest `--reconnect-grace`.
    static let maxReconnectGraceSeconds = 3600

    /// HOST:PORT, with IPv6 hosts in brackets.
    private func parseListen() -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (1...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}
