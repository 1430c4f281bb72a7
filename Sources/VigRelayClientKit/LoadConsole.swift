import Foundation

/// Where `load` talks while it runs: a progress line on stderr about once a second, redrawn in place
/// with `\r` when stderr is a terminal and printed as plain lines otherwise, and the odd log line.
///
/// Thread-safe: `lock` guards the output and whether a progress line is showing.
public final class LoadConsole: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal: Bool
    // Guarded by `lock`.
    private var showing = false

    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0) { self.isTerminal = isTerminal }

    /// Shows the progress line.
    public func progress(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        if isTerminal {
            write("\r" + line + "\u{1B}[K")
            showing = true
        } else {
            write(line + "\n")
        }
    }

    /// Prints a line of its own (after the progress line, which the next `progress` redraws).
    public func log(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        if showing { write("\n") }
        showing = false
        write(line + "\n")
    }

    /// Ends the progress line so what follows starts on a fresh line.
    public func finish() {
        lock.lock(); defer { lock.unlock() }
        if showing { write("\n") }
        showing = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// The progress line: elapsed time, pairs streaming (`activity`: "connected" for idle pairs),
    /// payload MB/s over the last interval, camera p99 latency so far, errors so far.
    static func line(elapsedSeconds: Double, streaming: Int, pairs: Int, megabytesPerSecond: Double, p99Milliseconds: Double,
                     errors: Int, activity: String = "streaming") -> String {
        String(format: "load %5.0f s: %d/%d pairs ", elapsedSeconds, streaming, pairs) + activity
            + String(format: ", %.2f MB/s, p99 %.2f ms, errors %d", megabytesPerSecond, p99Milliseconds, errors)
    }
}
