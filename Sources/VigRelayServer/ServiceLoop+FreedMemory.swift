import CLinuxIO
import Dispatch
import VigRelayCore

/// Giving freed memory back to the kernel after a burst (`FreedMemoryRelease` says when). Service
/// thread; the release itself runs on the reader thread: `malloc_trim` walks every arena, which after
/// gigabytes of queues takes a moment the service thread should not wait for.
extension ServiceLoop {
    /// Bytes waiting in the WebSocket connections' send queues.
    var sendQueuedBytes: Int { webSockets.values.reduce(0) { $0 + $1.outbound.queuedBytes } }

    /// Once a second, and at each metrics scrape (which shows the queues, so a burst it shows is one
    /// the release knows of), with the bytes waiting in the viewers' send queues (`sendQueued`, which
    /// the scrape has summed already) and for the disk writer: after a burst has drained, the reader
    /// thread gives what is free back, and the log says how much the RSS fell.
    func releaseFreedMemoryAfterBursts(sendQueued: Int) {
        let peak = freedMemory.peakBytes
        guard freedMemory.queued(sendQueued + recordingQueuedBytes) else { return }
        let logger = self.logger
        reader.submit {
            let before = ProcessFigures.read().residentBytes ?? 0
            let started = DispatchTime.now().uptimeNanoseconds
            _ = vr_release_freed_memory()
            let took = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
            let after = ProcessFigures.read().residentBytes ?? 0
            logger.notice("queues drained after a burst: freed memory given back to the kernel", metadata: [
                "queued.peak.bytes": "\(peak)", "rss.before.bytes": "\(before)", "rss.after.bytes": "\(after)", "ms": "\(took)"])
        }
    }
}
