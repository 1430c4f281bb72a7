import Foundation

/// CPU time and memory of the relay's process on this machine, read from `/proc`, so `load` can say
/// what the load cost the relay.
///
/// CPU: `utime + stime` of `/proc/PID/stat` (fields 14 and 15, in clock ticks of
/// `sysconf(_SC_CLK_TCK)`); memory: `VmRSS` of `/proc/PID/status`. Samples at the start, about once
/// a second (for the peak RSS) and at the end. Thread: one thread at a time (the command's).
final class ServerSampler {
    /// One reading.
    struct Sample: Sendable, Equatable {
        /// User + system CPU seconds the process has used.
        var cpuSeconds: Double
        /// Resident memory, bytes.
        var rssBytes: Int
        /// `CLOCK_MONOTONIC` when read, ns.
        var atNanoseconds: UInt64
    }

    let pid: Int32
    private let ticksPerSecond: Double
    /// The first reading.
    private(set) var start: Sample?
    /// The largest RSS seen.
    private(set) var peakRSSBytes = 0
    /// The latest reading that succeeded.
    private(set) var last: Sample?
    /// A reading failed after the first: the process ended (or changed hands) during the run.
    private(set) var vanished = false

    /// A sampler for `pid`; nil when its `/proc` files cannot be read (no such process, or another user's).
    init?(pid: Int32) {
        self.pid = pid
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? Double(ticks) : 100
        guard read() != nil else { return nil }
    }

    /// Reads the process now; keeps the first reading as `start` and tracks the peak RSS. Nil once the
    /// process is gone.
    @discardableResult
    func sample() -> Sample? {
        guard let sample = read() else {
            if start != nil { vanished = true }
            return nil
        }
        if start == nil { start = sample }
        last = sample
        peakRSSBytes = max(peakRSSBytes, sample.rssBytes)
        return sample
    }

    /// Reads the process now without keeping the reading (for a figure before the run's own start).
    func reading() -> Sample? { read() }

    private func read() -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let ticks = Self.cpuTicks(stat: stat),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let rss = Self.rssBytes(status: status)
        else { return nil }
        return Sample(cpuSeconds: Double(ticks) / ticksPerSecond, rssBytes: rss, atNanoseconds: MonotonicClock.nanoseconds())
    }

    /// `utime + stime` from the text of `/proc/PID/stat`. The command name (field 2) is in
    /// parentheses and may itself hold spaces and parentheses, so fields are counted after the last `)`.
    static func cpuTicks(stat text: String) -> UInt64? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), so field 14 (utime) is fields[11] and field 15 (stime) fields[12].
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// `VmRSS` in bytes from the text of `/proc/PID/status` (given there in kB).
    static func rssBytes(status text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let value = parts.first.flatMap({ Int($0) }) else { return nil }
            let unit = parts.count > 1 ? parts[1].lowercased() : "kb"
            switch unit {
            case "kb": return value * 1024
            case "mb": return value * 1024 * 1024
            case "b": return value
            default: return nil
            }
        }
        return nil
    }
}
