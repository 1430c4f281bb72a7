import Logging
import VigRelayCore

/// The space left on the data directory's file system, as measured at start and then by the disk
/// writer once a second: the core holds new recordings back below `--min-free-space` and tells the
/// practitioners joined, and the operator hears once each time the space crosses it.
extension ServiceLoop {
    func diskSpaceMeasured(availableBytes: Int64) {
        metrics.dataAvailableBytes.set(availableBytes)
        guard let notices = core.diskSpaceMeasured(availableBytes: availableBytes) else { return }
        perform(notices)
        let metadata: Logger.Metadata = ["available.bytes": "\(availableBytes)", "min.free.bytes": "\(core.limits.minFreeSpaceBytes)",
                                         "recordings.running": "\(core.runningRecordingCount)"]
        if core.diskSpaceLow {
            logger.warning("the data directory's file system is low on space (under --min-free-space): no new recording starts until space is freed; running ones go on until they stop or the disk is full. Free space or give the data directory more room", metadata: metadata)
        } else {
            logger.notice("space on the data directory's file system is back above --min-free-space: recordings may start again", metadata: metadata)
        }
    }
}
