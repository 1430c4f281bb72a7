import Foundation

/// The relay process's own CPU time, memory and file descriptors, as `GET /metrics` reports them
/// (`process_*`, the names Prometheus' other exporters use). Each is nil when it cannot be read.
///
/// Thread: `read` touches `/proc`, so it runs on the reader thread, never the service thread.
struct ProcessFigures {
    var cpuSeconds: Double?
    var residentBytes: Int?
    var openFileDescriptors: Int?
    var maxFileDescriptors: Int?

    static func read() -> ProcessFigures {
        var figures = ProcessFigures()
        var usage = rusage()
        if getrusage(RUSAGE_SELF.rawValue, &usage) == 0 {
            func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
            figures.cpuSeconds = seconds(usage.ru_utime) + seconds(usage.ru_stime)
        }
        // statm: size, resident, ... in pages.
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { figures.residentBytes = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            figures.openFileDescriptors = max(0, entries.count - 1)  // less the one listing the directory
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            figures.maxFileDescriptors = Int(exactly: limit.rlim_cur)  // nil: unlimited
        }
        return figures
    }

    /// CPU time (user and system) of the calling thread, in seconds; nil if it cannot be read. Any
    /// thread: a clock read, no `/proc`.
    static func callingThreadCPUSeconds() -> Double? {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return nil }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
