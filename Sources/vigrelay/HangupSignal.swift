import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What a SIGHUP asks of `vigrelay serve`.
///
/// From an operator (`systemctl reload`, `kill -HUP`) it asks for the certificate to be read again.
/// From the kernel, because the terminal the server was started from went away (its window closed,
/// its ssh connection dropped), it means what it always meant: stop, so that no relay is left
/// running with nobody watching it. Started under `nohup` (SIGHUP ignored), it carries on instead.
/// The two are told apart by the terminal: after a hangup the server has none.
///
/// Thread: `atStart()` on the main thread before the signal handlers are set; `meaning()` on the
/// signal source's queue.
final class HangupSignal: Sendable {
    enum Meaning { case reloadCertificate, stop, carryOn }

    /// Whether the server was started with a controlling terminal.
    private let startedOnTerminal: Bool
    /// Whether SIGHUP was ignored when the server started (`nohup`).
    private let ignoredAtStart: Bool
    /// Whether the terminal's hangup has been seen: every SIGHUP after it comes from someone.
    private let hungUp = Mutex(false)

    private init(startedOnTerminal: Bool, ignoredAtStart: Bool) {
        self.startedOnTerminal = startedOnTerminal
        self.ignoredAtStart = ignoredAtStart
    }

    /// Reads the terminal and SIGHUP's disposition; before `vigrelay serve` sets its own.
    static func atStart() -> HangupSignal {
        var current = sigaction()
        sigaction(SIGHUP, nil, &current)
        let ignored = unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
        return HangupSignal(startedOnTerminal: hasControllingTerminal(), ignoredAtStart: ignored)
    }

    /// What the SIGHUP that just arrived asks for.
    func meaning() -> Meaning {
        let isHangup = hungUp.withLock { seen in
            guard startedOnTerminal, !seen, !Self.hasControllingTerminal() else { return false }
            seen = true
            return true
        }
        guard isHangup else { return .reloadCertificate }
        return ignoredAtStart ? .carryOn : .stop
    }

    /// `/dev/tty` opens only for a process that has a controlling terminal (ENXIO once it hung up).
    private static func hasControllingTerminal() -> Bool {
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}
