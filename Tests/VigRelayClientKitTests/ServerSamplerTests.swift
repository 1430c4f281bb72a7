import Foundation
import Testing
@testable import VigRelayClientKit

struct ServerSamplerTests {
    /// A real line of /proc/PID/stat, with a command name that holds spaces and parentheses.
    static let stat = "4242 (vig (relay) x) S 1 4242 4242 0 -1 4194560 1520 0 0 0 1234 567 0 0 20 0 3 0 81234 250000000 9876 "
        + "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0"

    @Test func cpuTicksAreUtimePlusStimeCountedAfterTheLastParenthesis() {
        #expect(ServerSampler.cpuTicks(stat: Self.stat) == 1234 + 567)
        #expect(ServerSampler.cpuTicks(stat: "1 (vigrelay) R 0 1 1 0 -1 0 0 0 0 0 7 3 0") == 10)
    }

    @Test(arguments: ["", "4242 vigrelay S 1 2 3", "4242 (vigrelay) S 1 2 3 4 5", "1 (x) R 0 1 1 0 -1 0 0 0 0 0 seven 3 0"])
    func cpuTicksOfSomethingElseIsNil(text: String) {
        #expect(ServerSampler.cpuTicks(stat: text) == nil)
    }

    @Test func rssIsVmRSSInBytes() {
        let status = "Name:\tvigrelay\nVmPeak:\t  999999 kB\nVmRSS:\t   40960 kB\nRssAnon:\t   100 kB\n"
        #expect(ServerSampler.rssBytes(status: status) == 40960 * 1024)
        #expect(ServerSampler.rssBytes(status: "Name:\tkthreadd\nState:\tS (sleeping)\n") == nil)
        #expect(ServerSampler.rssBytes(status: "VmRSS:\tlots kB\n") == nil)
    }

    @Test func samplesThisProcess() throws {
        let sampler = try #require(ServerSampler(pid: getpid()))
        let first = try #require(sampler.sample())
        var spin = 0.0
        for i in 0..<2_000_000 { spin += Double(i).squareRoot() }
        let second = try #require(sampler.sample())
        #expect(spin > 0)
        #expect(first.rssBytes > 1 << 20)
        #expect(second.cpuSeconds >= first.cpuSeconds)
        #expect(second.atNanoseconds > first.atNanoseconds)
        #expect(sampler.start == first && sampler.last == second)
        #expect(sampler.peakRSSBytes == max(first.rssBytes, second.rssBytes))
        #expect(!sampler.vanished)
    }

    @Test func aThreadIsFoundByItsName() throws {
        // This process's main thread has the process's id and its command's name.
        let name = try String(contentsOfFile: "/proc/self/comm", encoding: .utf8).trimmingCharacters(in: .newlines)
        #expect(ServerSampler.thread(named: name, of: getpid()) == getpid())
        #expect(ServerSampler.thread(named: "no-such-thread", of: getpid()) == nil)
        #expect(ServerSampler.thread(named: name, of: Int32.max - 7) == nil)
        // Not a vigrelay: no service thread, so no share of it.
        let sample = try #require(ServerSampler(pid: getpid())?.sample())
        #expect(sample.serviceThreadCPUSeconds == nil)
    }

    @Test func aProcessThatDoesNotExistCannotBeSampled() {
        #expect(ServerSampler(pid: Int32.max - 7) == nil)
    }

    @Test func costDividesByWallTimeBytesSessionsAndConnections() {
        let start = ServerSampler.Sample(cpuSeconds: 10, rssBytes: 50_000_000, atNanoseconds: 1_000_000_000)
        let end = ServerSampler.Sample(cpuSeconds: 14, rssBytes: 60_000_000, atNanoseconds: 9_000_000_000)
        let cost = ServerCost(pid: 7, start: start, end: end, peakRSSBytes: 70_000_000, payloadBytesRelayed: 2_000_000_000,
                              sessions: 100, connections: 200)
        #expect(cost.cpuSeconds == 4)
        #expect(cost.wallSeconds == 8)
        #expect(cost.cpuShare == 0.5)
        #expect(cost.cpuSecondsPerGB == 2)
        #expect(cost.cpuSecondsPerSession == 0.04)
        #expect(cost.rssPeakBytes == 70_000_000)
        #expect(cost.rssPerConnectionBytes == 100_000)
        let idle = ServerCost(pid: 7, start: start, end: start, peakRSSBytes: 0, payloadBytesRelayed: 0, sessions: 0, connections: 0)
        #expect(idle.cpuShare == 0 && idle.cpuSecondsPerGB == nil && idle.cpuSecondsPerSession == nil && idle.rssPerConnectionBytes == nil)
        #expect(cost.steadyCPUShare == nil && cost.steadyWallSeconds == nil)
        #expect(cost.serviceThreadShare == nil && cost.steadyServiceThreadShare == nil, "no service thread read")
    }

    @Test func theServiceThreadsShareIsItsCPUOverTheWallTimeWhenBothEndsHaveIt() {
        let start = ServerSampler.Sample(cpuSeconds: 10, rssBytes: 1, atNanoseconds: 1_000_000_000, serviceThreadCPUSeconds: 6)
        let end = ServerSampler.Sample(cpuSeconds: 14, rssBytes: 1, atNanoseconds: 9_000_000_000, serviceThreadCPUSeconds: 9)
        let from = ServerSampler.Sample(cpuSeconds: 11, rssBytes: 1, atNanoseconds: 3_000_000_000, serviceThreadCPUSeconds: 6.5)
        let to = ServerSampler.Sample(cpuSeconds: 12, rssBytes: 1, atNanoseconds: 7_000_000_000, serviceThreadCPUSeconds: 8.5)
        let cost = ServerCost(pid: 7, start: start, end: end, peakRSSBytes: 0, payloadBytesRelayed: 1, sessions: 1, connections: 2,
                              steady: (from, to))
        #expect(cost.serviceThreadShare == 3.0 / 8 && cost.steadyServiceThreadShare == 0.5)
        var older = end
        older.serviceThreadCPUSeconds = nil  // a relay without the figure
        let without = ServerCost(pid: 7, start: start, end: older, peakRSSBytes: 0, payloadBytesRelayed: 1, sessions: 1, connections: 2)
        #expect(without.serviceThreadShare == nil && without.cpuShare == 0.5)
    }

    @Test func theSteadyShareLeavesOutSetupAndClosing() {
        let start = ServerSampler.Sample(cpuSeconds: 10, rssBytes: 50_000_000, atNanoseconds: 1_000_000_000)
        let end = ServerSampler.Sample(cpuSeconds: 14, rssBytes: 60_000_000, atNanoseconds: 9_000_000_000)
        // Setup cost 1 CPU-s in the first second; then 0.25 of a core for 4 s; closing after.
        let from = ServerSampler.Sample(cpuSeconds: 11, rssBytes: 55_000_000, atNanoseconds: 3_000_000_000)
        let to = ServerSampler.Sample(cpuSeconds: 12, rssBytes: 55_000_000, atNanoseconds: 7_000_000_000)
        let cost = ServerCost(pid: 7, start: start, end: end, peakRSSBytes: 0, payloadBytesRelayed: 1, sessions: 1, connections: 2,
                              steady: (from, to))
        #expect(cost.cpuShare == 0.5 && cost.steadyCPUShare == 0.25 && cost.steadyWallSeconds == 4)
        let backwards = ServerCost(pid: 7, start: start, end: end, peakRSSBytes: 0, payloadBytesRelayed: 1, sessions: 1, connections: 2,
                                   steady: (to, from))
        #expect(backwards.steadyCPUShare == nil)
    }

    @Test func clientCPUSaysHowBusyEachLwsThreadWas() {
        let start = ClientCPU.Reading(processSeconds: 1, threadSeconds: [0.5, 0.2], threadWaitSeconds: [0, 0], atNanoseconds: 1_000_000_000)
        let end = ClientCPU.Reading(processSeconds: 9, threadSeconds: [4.5, 9.8], threadWaitSeconds: [1, 0.1], atNanoseconds: 11_000_000_000)
        let cpu = ClientCPU(from: start, to: end)
        #expect(cpu.wallSeconds == 10 && cpu.cpuSeconds == 8 && cpu.cpuShare == 0.8)
        #expect(cpu.threadBusy.count == 2 && abs(cpu.threadBusy[0] - 0.4) < 1e-9 && abs(cpu.threadBusy[1] - 0.96) < 1e-9)
        #expect(cpu.threadWaiting.count == 2 && abs(cpu.threadWaiting[0] - 0.1) < 1e-9 && abs(cpu.threadWaiting[1] - 0.01) < 1e-9)
        #expect(cpu.saturated)
        #expect(!ClientCPU(from: start, to: start).saturated)
        let reading = ClientCPU.Reading.now(threads: [getpid()])
        #expect(reading.processSeconds > 0 && reading.threadSeconds.count == 1 && reading.threadWaitSeconds.count == 1)
    }

    /// A thread that was on a CPU only part of the time but waited in the run queue for the rest
    /// (the relay and the tester on too few cores) is saturated too: frames waited in the tester.
    @Test func anLwsThreadWaitingForACPUCountsAsSaturated() {
        let start = ClientCPU.Reading(processSeconds: 0, threadSeconds: [0, 0], threadWaitSeconds: [0, 0], atNanoseconds: 0)
        let starved = ClientCPU(from: start, to: ClientCPU.Reading(processSeconds: 12, threadSeconds: [6.4, 5],
                                                                     threadWaitSeconds: [3.2, 1], atNanoseconds: 10_000_000_000))
        #expect(abs(starved.threadBusy[0] - 0.64) < 1e-9 && abs(starved.threadWaiting[0] - 0.32) < 1e-9 && starved.saturated)
        let roomy = ClientCPU(from: start, to: ClientCPU.Reading(processSeconds: 8, threadSeconds: [4, 4],
                                                                   threadWaitSeconds: [1, 1], atNanoseconds: 10_000_000_000))
        #expect(!roomy.saturated && roomy.steadyThreadBusy == nil)
    }

    /// Over a whole run the ramp and the wind-down dilute a shortage; while every pair streamed, a
    /// thread that was on a CPU 6 s and waited 3.5 s of 10 s was saturated.
    @Test func theSteadyPartDecidesWhetherTheTesterWasSaturated() {
        func reading(_ busy: Double, _ waiting: Double, at seconds: UInt64) -> ClientCPU.Reading {
            ClientCPU.Reading(processSeconds: busy, threadSeconds: [busy], threadWaitSeconds: [waiting], atNanoseconds: seconds * 1_000_000_000)
        }
        let cpu = ClientCPU(from: reading(0, 0, at: 0), to: reading(8, 3.5, at: 20),
                            steady: (from: reading(1, 0, at: 5), to: reading(7, 3.5, at: 15)))
        #expect(abs(cpu.threadBusy[0] - 0.4) < 1e-9 && abs(cpu.threadWaiting[0] - 0.175) < 1e-9)
        #expect(abs((cpu.steadyThreadBusy?[0] ?? 0) - 0.6) < 1e-9 && abs((cpu.steadyThreadWaiting?[0] ?? 0) - 0.35) < 1e-9)
        #expect(cpu.saturated)
    }

    @Test func listeningInodesComeFromListenRowsOnThePort() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 55501 1 0000000000000000 100 0 0 10 0
               1: 0100007F:20FB 0100007F:C350 01 00000000:00000000 00:00000000 00000000  1000        0 55502 1 0000000000000000 20 4 30 10 -1
               2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 55503 1 0000000000000000 100 0 0 10 0
            """
        #expect(ListeningProcess.listeningInodes(table: table, port: 8443) == ["55501"])
        #expect(ListeningProcess.listeningInodes(table: table, port: 8080) == ["55503"])
        #expect(ListeningProcess.listeningInodes(table: table, port: 9999).isEmpty)
    }

    /// What the relay's `GET /metrics` writes, in the order it may: labelled and longer names first.
    static let metrics = """
        # HELP process_cpu_seconds_total_extra Not the one.
        process_cpu_seconds_total_extra 99
        vigrelay_errors_total{code="forbidden"} 2
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total 12.5
        process_resident_memory_bytes 41271296.0
        vigrelay_service_thread_cpu_seconds_total 9.25
        """

    @Test func aMetricsSampleIsTheProcessCPUAndResidentMemory() {
        #expect(PrometheusText.value(of: "process_cpu_seconds_total", in: Self.metrics) == 12.5)
        #expect(PrometheusText.value(of: "vigrelay_errors_total", in: Self.metrics) == nil, "labelled samples are not read")
        #expect(ServerSampler.reading(metrics: Self.metrics, at: 7)
                == ServerSampler.Sample(cpuSeconds: 12.5, rssBytes: 41_271_296, atNanoseconds: 7, serviceThreadCPUSeconds: 9.25))
        let older = Self.metrics.replacingOccurrences(of: "vigrelay_service_thread_cpu_seconds_total 9.25", with: "")
        #expect(ServerSampler.reading(metrics: older, at: 7)?.serviceThreadCPUSeconds == nil, "a relay without it: the rest is read")
    }

    @Test(arguments: ["", "process_cpu_seconds_total 1\n", "process_cpu_seconds_total NaN\nprocess_resident_memory_bytes 1\n",
                      "process_cpu_seconds_total 1\nprocess_resident_memory_bytes lots\n"])
    func metricsWithoutBothFiguresAreNoSample(text: String) {
        #expect(ServerSampler.reading(metrics: text, at: 0) == nil)
    }

    @Test func aRefusedMetricsTokenSaysHowToMakeOne() {
        let error = ClientError.metricsTokenRefused(code: "forbidden", message: "GET /metrics needs a metrics token")
        #expect(error.exitCode == 3)
        #expect(error.description.contains("vigrelay token metrics --id ID"))
    }
}
