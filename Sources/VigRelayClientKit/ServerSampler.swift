import Foundation

/// CPU time and memory of the relay's process, so `load` can say what the load cost the relay: read
/// from `/proc` for a process on this machine, or from the relay's own `GET /metrics` (with a metrics
/// token) wherever it runs.
///
/// From `/proc`: CPU is `utime + stime` of `/proc/PID/stat` (fields 14 and 15, in clock ticks of
/// `sysconf(_SC_CLK_TCK)`), memory `VmRSS` of `/proc/PID/status`, and the service thread's CPU the
/// same of the thread named `vigrelay-lws` (`/proc/PID/task/TID/stat`). From `/metrics`:
/// `process_cpu_seconds_total`, `process_resident_memory_bytes` and
/// `vigrelay_service_thread_cpu_seconds_total`, the reading's time being the middle of the request.
/// The service thread serves every connection, so its share of a core is how close the relay is to
/// its ceiling; it is nil for another relay (`--mode mirror`) or a vigrelay from before the metric.
/// Samples at the start, about once a second (for the peak RSS) and at the end. Thread: one thread
/// at a time (the command's).
final class ServerSampler {
    /// Where the readings come from.
    enum Source {
        case process(pid: Int32)
        /// `GET /metrics` over `loop` (one of the load's client loops) with a metrics token.
        case metrics(loop: ClientLoop, token: String)
    }

    /// One reading.
    struct Sample: Sendable, Equatable {
        /// User + system CPU seconds the process has used.
        var cpuSeconds: Double
        /// Resident memory, bytes.
        var rssBytes: Int
        /// `CLOCK_MONOTONIC` when read, ns.
        var atNanoseconds: UInt64
        /// User + system CPU seconds of the relay's service thread, when it could be read.
        var serviceThreadCPUSeconds: Double? = nil
    }

    let source: Source
    /// The name a vigrelay gives the thread that serves every connection.
    static let serviceThreadName = "vigrelay-lws"
    /// That thread's id, when sampled through `/proc` and found.
    private var serviceThreadID: Int32?
    /// `/proc/PID/stat`'s clock ticks per second.
    static let ticksPerSecond: Double = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }()
    /// The first reading.
    private(set) var start: Sample?
    /// The largest RSS seen.
    private(set) var peakRSSBytes = 0
    /// The latest reading that succeeded.
    private(set) var last: Sample?
    /// The latest reading failed after the first: the process ended (or changed hands) during the
    /// run, or its `/metrics` stopped answering.
    private(set) var vanished = false

    /// A sampler for `pid`; nil when its `/proc` files cannot be read (no such process, or another user's).
    init?(pid: Int32) {
        source = .process(pid: pid)
        serviceThreadID = Self.thread(named: Self.serviceThreadName, of: pid)
        guard read() != nil else { return nil }
    }

    /// A sampler of the relay's `GET /metrics`; throws the relay's refusal (a token that is not a
    /// metrics token, or none it signed) or why it cannot be read.
    init(metricsFrom loop: ClientLoop, token: String) throws(ClientError) {
        source = .metrics(loop: loop, token: token)
        let text: String
        do { text = try Self.scrape(loop, token: token) } catch {
            if case .tokenRefused(let code, let message) = error { throw .metricsTokenRefused(code: code, message: message) }
            throw error
        }
        guard Self.reading(metrics: text, at: 0) != nil else {
            throw .protocolError("the relay's GET /metrics has no process_cpu_seconds_total or process_resident_memory_bytes: is it a vigrelay?")
        }
    }

    /// The process id, when sampled through `/proc`.
    var pid: Int32? {
        if case .process(let pid) = source { pid } else { nil }
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
        vanished = false
        peakRSSBytes = max(peakRSSBytes, sample.rssBytes)
        return sample
    }

    /// Reads the process now without keeping the reading (for a figure before the run's own start).
    func reading() -> Sample? { read() }

    private func read() -> Sample? {
        switch source {
        case .process(let pid): return read(pid: pid)
        case .metrics(let loop, let token):
            let asked = MonotonicClock.nanoseconds()
            guard let text = try? Self.scrape(loop, token: token) else { return nil }
            return Self.reading(metrics: text, at: asked + (MonotonicClock.nanoseconds() - asked) / 2)
        }
    }

    private static func scrape(_ loop: ClientLoop, token: String) throws(ClientError) -> String {
        String(decoding: try RecordingAPI.request(loop, "GET", "/metrics", token: token, timeoutSeconds: 5).body, as: UTF8.self)
    }

    static func reading(metrics text: String, at nanoseconds: UInt64) -> Sample? {
        guard let cpu = PrometheusText.value(of: "process_cpu_seconds_total", in: text),
              let rss = PrometheusText.value(of: "process_resident_memory_bytes", in: text), let bytes = Int(exactly: rss.rounded())
        else { return nil }
        return Sample(cpuSeconds: cpu, rssBytes: bytes, atNanoseconds: nanoseconds,
                      serviceThreadCPUSeconds: PrometheusText.value(of: "vigrelay_service_thread_cpu_seconds_total", in: text))
    }

    private func read(pid: Int32) -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let ticks = Self.cpuTicks(stat: stat),
              let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let rss = Self.rssBytes(status: status)
        else { return nil }
        let thread = serviceThreadID.flatMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/stat", encoding: .utf8) }
        return Sample(cpuSeconds: Double(ticks) / Self.ticksPerSecond, rssBytes: rss, atNanoseconds: MonotonicClock.nanoseconds(),
                      serviceThreadCPUSeconds: thread.flatMap(Self.cpuTicks(stat:)).map { Double($0) / Self.ticksPerSecond })
    }

    /// The id of `pid`'s thread called `name` (`/proc/PID/task/TID/comm`), if it has one.
    static func thread(named name: String, of pid: Int32) -> Int32? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        return tasks.compactMap(Int32.init).sorted().first { tid in
            (try? String(contentsOfFile: "/proc/\(pid)/task/\(tid)/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines) == name
        }
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
