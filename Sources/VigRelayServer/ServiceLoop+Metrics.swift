import VigRelayCore

/// `GET /metrics` on the service thread's side: its state into the gauges, then the reader thread
/// writes the text (it reads `/proc` for the process's figures). Service thread only.
extension ServiceLoop {
    func scrapeMetrics(_ id: ConnectionID) {
        metrics.webSocketConnections.set(Int64(webSockets.count))
        let joined = core.joinedCounts
        for role in Role.allCases { metrics.joinedConnections[role]?.set(Int64(joined.byRole[role] ?? 0)) }
        metrics.calls.set(Int64(joined.calls))
        metrics.recordingsRunning.set(Int64(core.runningRecordingCount))
        metrics.recordingQueueBytes.set(Int64(recordingQueuedBytes))
        metrics.sendersPausedForDisk.set(Int64(pausedForDisk.count))
        let sendQueued = sendQueuedBytes
        metrics.sendQueueBytes.set(Int64(sendQueued))
        releaseFreedMemoryAfterBursts(sendQueued: sendQueued)  // a scrape looks at the queues too: a burst it saw counts
        if let cpu = ProcessFigures.callingThreadCPUSeconds() { metrics.serviceThreadCPU(seconds: cpu) }
        let metrics = self.metrics, inbox = self.inbox
        reader.submit {
            var response = HTTPResponse(status: 200, body: metrics.render())
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            inbox.post(.respond(id, response))
        }
    }
}
