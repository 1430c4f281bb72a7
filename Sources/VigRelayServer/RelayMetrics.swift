import Foundation
import Prometheus
import Synchronization
import VigRelayCore

/// What the relay counts for its operators, served as `GET /metrics` in Prometheus' text format:
/// media in and out, what slow viewers skipped, the disk keeping up, errors by code, and the
/// process's own CPU, memory and descriptors. Counts and sizes only: no session, person or address.
///
/// Thread: shared. Counters are atomics (swift-prometheus), counted where things happen: the service
/// thread counts media, errors, disk pauses and sessions created, the writer thread recorded bytes.
/// Gauges of the service thread's state, and its own CPU time, are set by it when a scrape arrives
/// (`ServiceLoop.scrapeMetrics`), the data directory's space as the writer's measurements reach it
/// (`ServiceLoop.diskSpaceMeasured`); the reader thread then reads the process's figures and writes
/// the text (`render`).
final class RelayMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()

    // Counters.
    let mediaReceivedFrames: Counter
    let mediaReceivedBytes: Counter
    /// By stream: media frames queued to the viewer, and their bytes (`countMedia`).
    private let mediaForwardedFrames: [MediaStream: Counter]
    private let mediaForwardedBytes: [MediaStream: Counter]
    /// By stream: frames a viewer that fell behind skipped (`OutboundQueue`).
    private let mediaSkippedFrames: [MediaStream: Counter]
    /// By stream: `catch_up` requests, viewers on a slow download asking for the present.
    private let catchUps: [MediaStream: Counter]
    let sendQueueFullCloses: Counter
    let recordedBytes: Counter
    let recordingsStarted: Counter
    /// By why they went (`countDeleted`).
    private let recordingsDeleted: [DeletionReason: Counter]
    let diskPauses: Counter
    let sessionsCreated: Counter
    private let errors: [RelayErrorCode: Counter]
    /// Certificate reloads (SIGHUP) that installed a certificate, and that were refused.
    private let certificateReloadsLoaded: Counter
    private let certificateReloadsFailed: Counter
    /// When the certificate in use expires (seconds since the Unix epoch): what an operator alerts on.
    private let certificateExpiry: Gauge

    // Gauges of the service thread's state.
    let webSocketConnections: Gauge
    let joinedConnections: [Role: Gauge]
    let calls: Gauge
    let recordingsRunning: Gauge
    let recordingQueueBytes: Gauge
    let sendersPausedForDisk: Gauge
    let sendQueueBytes: Gauge
    /// Space left on the data directory's file system (measured once a second on the disk writer
    /// thread), and `--min-free-space`: below it no recording starts.
    let dataAvailableBytes: Gauge
    let minFreeSpaceBytes: Gauge

    // The process (`ProcessFigures`), read by the reader thread at each scrape.
    private let processCPUSeconds: Counter
    private let processResidentBytes: Gauge
    private let processOpenFDs: Gauge
    private let processMaxFDs: Gauge
    private let processStartTime: Gauge
    /// CPU seconds already added to `processCPUSeconds` (a counter only goes up by increments).
    private let cpuCounted = Mutex(0.0)
    /// The service thread's CPU time, read by that thread at each scrape (`serviceThreadCPU`).
    private let serviceThreadCPUSeconds: Counter
    private let serviceThreadCPUCounted = Mutex(0.0)

    init(startedAt: Date) {
        func name(_ name: String, _ unit: String, _ help: String, namespace: String = "vigrelay") -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: namespace, metricName: name, unitName: unit, helpText: help)
        }
        let r = registry
        func byStream(_ descriptor: MetricNameDescriptor) -> [MediaStream: Counter] {
            Dictionary(uniqueKeysWithValues: MediaStream.allCases.map { ($0, r.makeCounter(descriptor: descriptor, labels: [("stream", $0.description)])) })
        }
        mediaReceivedFrames = r.makeCounter(descriptor: name("media_received_frames", "total", "Binary (media) messages received from senders."))
        mediaReceivedBytes = r.makeCounter(descriptor: name("media_received_bytes", "total", "Bytes of the binary messages received from senders."))
        mediaForwardedFrames = byStream(name("media_forwarded_frames", "total", "Media frames queued to a viewer, by stream."))
        mediaForwardedBytes = byStream(name("media_forwarded_bytes", "total", "Bytes of the media frames queued to a viewer, by stream."))
        mediaSkippedFrames = byStream(name("media_skipped_frames", "total",
            "Media frames a viewer that fell behind skipped to the next point a decoder can start from, by stream."))
        catchUps = byStream(name("catch_ups", "total",
            "Times a viewer whose page saw the stream arrive seconds late asked to be skipped to the present (catch_up), by stream."))
        sendQueueFullCloses = r.makeCounter(descriptor: name("send_queue_full_closes", "total",
            "Connections closed because they did not read and their send queue filled with messages that are never skipped."))
        recordedBytes = r.makeCounter(descriptor: name("recorded_bytes", "total", "Media bytes written to recordings."))
        recordingsStarted = r.makeCounter(descriptor: name("recordings_started", "total", "Recordings started."))
        let deleted = name("recordings_deleted", "total",
            "Recordings deleted, with their clips, by reason: the family withdrew consent, the practitioner asked, or retention.")
        recordingsDeleted = Dictionary(uniqueKeysWithValues: DeletionReason.allCases.map {
            ($0, r.makeCounter(descriptor: deleted, labels: [("reason", $0.rawValue)]))
        })
        diskPauses = r.makeCounter(descriptor: name("disk_pauses", "total",
            "Times a camera was paused (not read) because the disk writer was behind; recorded media is never dropped."))
        sessionsCreated = r.makeCounter(descriptor: name("sessions_created", "total", "Sessions created."))
        let errorName = name("errors", "total", "Errors answered to clients (WebSocket error messages and HTTP error responses), by code.")
        errors = Dictionary(uniqueKeysWithValues: RelayErrorCode.allCases.map { ($0, r.makeCounter(descriptor: errorName, labels: [("code", $0.rawValue)])) })
        let reloads = name("tls_certificate_reloads", "total",
            "Certificate reloads asked for with SIGHUP, by result: loaded (new connections get it) or failed (the one in use stays; the log says why).")
        certificateReloadsLoaded = r.makeCounter(descriptor: reloads, labels: [("result", "loaded")])
        certificateReloadsFailed = r.makeCounter(descriptor: reloads, labels: [("result", "failed")])
        certificateExpiry = r.makeGauge(descriptor: name("tls_certificate_expiry", "timestamp_seconds",
            "When the TLS certificate new connections get expires, in seconds since the Unix epoch."))

        webSocketConnections = r.makeGauge(descriptor: name("websocket_connections", "", "Open WebSocket connections, joined or not."))
        let joined = name("joined_connections", "", "WebSocket connections joined to a session, by role.")
        joinedConnections = Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, r.makeGauge(descriptor: joined, labels: [("role", $0.rawValue)])) })
        calls = r.makeGauge(descriptor: name("calls", "", "Sessions with both the practitioner and the family joined."))
        recordingsRunning = r.makeGauge(descriptor: name("recordings_running", "", "Recordings running."))
        recordingQueueBytes = r.makeGauge(descriptor: name("recording_queue_bytes", "", "Recorded media handed to the disk writer and not yet written."))
        sendersPausedForDisk = r.makeGauge(descriptor: name("senders_paused_for_disk", "", "Cameras not read until the disk writer catches up."))
        sendQueueBytes = r.makeGauge(descriptor: name("send_queue_bytes", "", "Bytes waiting in the WebSocket connections' send queues."))
        dataAvailableBytes = r.makeGauge(descriptor: name("data_available_bytes", "",
            "Bytes left for the relay on the data directory's file system, measured once a second."))
        minFreeSpaceBytes = r.makeGauge(descriptor: name("min_free_space_bytes", "",
            "--min-free-space: while vigrelay_data_available_bytes is below it, no new recording starts."))

        processCPUSeconds = r.makeCounter(descriptor: name("cpu_seconds", "total", "User and system CPU time of the relay's process.", namespace: "process"))
        processResidentBytes = r.makeGauge(descriptor: name("resident_memory_bytes", "", "Resident memory of the relay's process.", namespace: "process"))
        processOpenFDs = r.makeGauge(descriptor: name("open_fds", "", "Open file descriptors (each connection holds one).", namespace: "process"))
        processMaxFDs = r.makeGauge(descriptor: name("max_fds", "", "The process's limit of open file descriptors.", namespace: "process"))
        processStartTime = r.makeGauge(descriptor: name("start_time_seconds", "", "When the relay started, in seconds since the Unix epoch.", namespace: "process"))
        processStartTime.set(startedAt.timeIntervalSince1970)
        serviceThreadCPUSeconds = r.makeCounter(descriptor: name("service_thread_cpu_seconds", "total",
            "User and system CPU time of the thread that serves every connection: one core is the relay's ceiling, so a rate near 1 means it is full."))
    }

    /// Counts a media frame for a viewer by what its send queue did with it.
    func countMedia(stream: UInt8, bytes: Int, _ outcome: OutboundQueue.Outcome) {
        guard let stream = MediaStream(rawValue: stream) else { return }
        switch outcome {
        case .queued, .resumed:
            mediaForwardedFrames[stream]?.increment()
            mediaForwardedBytes[stream]?.increment(by: Int64(bytes))
        case .skipped:
            mediaSkippedFrames[stream]?.increment()
        case .overLimit:
            break  // the connection is closed (`sendQueueFullCloses`)
        }
    }

    /// A viewer's `catch_up`, and the frames its queue dropped for it (counted as skipped).
    func countCaughtUp(stream: MediaStream, dropped: Int) {
        catchUps[stream]?.increment()
        mediaSkippedFrames[stream]?.increment(by: Int64(dropped))
    }

    /// Why recordings were deleted (`vigrelay_recordings_deleted_total{reason}`).
    enum DeletionReason: String, CaseIterable {
        case withdrawal, request, retention
    }

    func countDeleted(_ recordings: Int, _ reason: DeletionReason) {
        recordingsDeleted[reason]?.increment(by: Int64(recordings))
    }

    /// The certificate served at start.
    func certificateServed(_ certificate: ServingCertificate) {
        certificateExpiry.set(certificate.notAfter.timeIntervalSince1970)
    }

    /// A reload installed `certificate`.
    func certificateReloaded(_ certificate: ServingCertificate) {
        certificateReloadsLoaded.increment()
        certificateServed(certificate)
    }

    /// A reload was refused: the certificate in use stays.
    func certificateReloadFailed() {
        certificateReloadsFailed.increment()
    }

    /// Counts an error answered to a client.
    func countError(_ code: RelayErrorCode) {
        errors[code]?.increment()
    }

    /// The service thread's CPU time so far (`ProcessFigures.callingThreadCPUSeconds`, read on that
    /// thread as a scrape arrives).
    func serviceThreadCPU(seconds: Double) {
        Self.add(upTo: seconds, counted: serviceThreadCPUCounted, to: serviceThreadCPUSeconds)
    }

    /// Raises `counter` to `total`: by what `total` has grown since `counted`, never down.
    private static func add(upTo total: Double, counted: borrowing Mutex<Double>, to counter: Counter) {
        let added = counted.withLock { counted -> Double in
            let delta = max(0, total - counted)
            counted += delta
            return delta
        }
        if added > 0 { counter.increment(by: added) }
    }

    /// The text of a scrape: reads the process's figures, then every metric. Reader thread (it reads
    /// `/proc`).
    func render() -> [UInt8] {
        let figures = ProcessFigures.read()
        if let cpu = figures.cpuSeconds { Self.add(upTo: cpu, counted: cpuCounted, to: processCPUSeconds) }
        if let rss = figures.residentBytes { processResidentBytes.set(Int64(rss)) }
        if let open = figures.openFileDescriptors { processOpenFDs.set(Int64(open)) }
        if let max = figures.maxFileDescriptors { processMaxFDs.set(Int64(max)) }
        return registry.emitToBuffer()
    }
}
