import Foundation

extension LoadReport {
    /// The report as a table for people: the plan, pairs, frames per stream, throughput, latency and
    /// handshake percentiles, recordings, the server's cost, errors by code, the first failures, verdict.
    public var text: String {
        var lines: [String] = []
        let sizing = plan.cameraSizing
        let rate = plan.bitsPerSecond > 0 ? String(format: "%.3g Mbit/s at %g fps", plan.bitsPerSecond / 1e6, plan.framesPerSecond)
                                          : "as fast as possible"
        let sizes = sizing.keyframeSize == sizing.deltaSize ? "\(sizing.deltaSize) B frames"
            : "\(sizing.keyframeSize) B keyframes, \(sizing.deltaSize) B frames"
        let media = plan.idle ? "idle connections, no media"
            : "camera \(rate) per pair (\(sizes))"
                + (plan.screenBitsPerSecond > 0 ? String(format: ", screen %.3g Mbit/s", plan.screenBitsPerSecond / 1e6) : "")
        lines.append("load: \(plan.pairs) pair(s) against \(plan.modeName) \(targetDescription); \(media)"
                     + "; " + Self.seconds(plan.durationSeconds) + " after a " + Self.seconds(plan.rampSeconds) + " ramp; "
                     + "\(plan.workers) worker(s)" + (plan.record ? "; recording" : ""))
        lines.append("pairs: \(pairsCompleted) completed, \(pairsFailed) failed, \(pairsCancelled) cancelled"
                     + (pairsUnaccounted > 0 ? ", \(pairsUnaccounted) never finished (their worker was stuck)" : "") + "; \(pairsConnected) connected"
                     + String(format: "; %.1f s in all", wallSeconds) + (interrupted ? " (interrupted by Ctrl-C)" : ""))
        lines.append("")
        lines.append(Self.row(["stream", "sent", "received", "lost", "corrupt", "reordered", "duplicate", "skipped", "payload MB"]))
        for s in streams {
            lines.append(Self.row([s.stream, "\(s.framesSent)", "\(s.framesReceived)", "\(s.lost)", "\(s.corrupt)", "\(s.reordered)",
                                   "\(s.duplicates)", "\(s.skippedByRelay)", String(format: "%.2f", Double(s.payloadBytesReceived) / 1e6)]))
        }
        for (slow, who) in [(slowViewers, "slow viewers: %d practitioner(s) reading the camera"), (slowFamilies, "slow families: %d family(ies) reading the screen")] {
            guard let slow else { continue }
            lines.append(String(format: who + " at %.3g Mbit/s: %d of %d frames received,"
                                + " %d skipped by the relay, %d catch-up(s) asked; late p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                                + " (not in the latency below)",
                                slow.viewers, slow.bitsPerSecond / 1e6, slow.framesReceived, slow.framesSent, slow.skippedByRelay,
                                slow.catchUpsAsked, slow.latency.p50, slow.latency.p99, slow.latency.max))
        }
        let resumes = total.badResumes
        if resumes > 0 { lines.append("resumed elsewhere than a start point after a skip: \(resumes) frame(s)") }
        lines.append(String(format: "throughput: %.2f MB/s of payload received over %.2f s", throughputMBps, streamSeconds))
        lines.append("")
        lines.append(Self.row(["ms", "p50", "p90", "p99", "p99.9", "max", "count"]))
        var timings: [(String, LatencySummary)] = streams.map { ("\($0.stream) latency", $0.latency) }
        timings.append(("from write", LatencySummary(microseconds: figures.writeLatency)))
        timings.append(("connect", LatencySummary(microseconds: figures.connect)))
        if case .relay = plan.target {
            timings.append(("welcome", LatencySummary(microseconds: figures.welcome)))
            timings.append(("create", LatencySummary(microseconds: figures.create)))
        }
        if plan.bitsPerSecond > 0 { timings.append(("send lag", LatencySummary(microseconds: figures.sendLag))) }
        for (name, l) in timings {
            lines.append(Self.row([name] + [l.p50, l.p90, l.p99, l.p999, l.max].map { String(format: "%.3f", $0) } + ["\(l.count)"]))
        }
        lines.append("")
        if let i = idle {
            lines.append(String(format: "idle: %d sessions created in %.2f s; ", i.sessionsCreated, i.createSeconds)
                         + (i.allWelcomedSeconds.map { String(format: "all %d connections connected (welcome) in %.2f s", i.connectionsRequested, $0) }
                            ?? "\(i.connectionsWelcomed) of \(i.connectionsRequested) connections got their welcome"))
        }
        if plan.record {
            lines.append("recordings: \(recordings.stopped) stopped, \(recordings.bytes) bytes")
        }
        if let s = server {
            let which = s.pid.map { "server pid \($0)" } ?? "server (its GET /metrics)"
            var line = which + String(format: ": %.2f CPU-s over %.1f s (%.1f%% of one core)", s.cpuSeconds, s.wallSeconds, s.cpuShare * 100)
            if let perGB = s.cpuSecondsPerGB { line += String(format: ", %.2f CPU-s per GB relayed", perGB) }
            if let perSession = s.cpuSecondsPerSession { line += String(format: ", %.3f CPU-s per session", perSession) }
            if let thread = s.serviceThreadShare {
                line += String(format: "; its service thread (the one-core ceiling) %.1f%% busy", thread * 100)
                    + (s.steadyServiceThreadShare.map { String(format: ", %.1f%% while all pairs streamed", $0 * 100) } ?? "")
            }
            line += String(format: "; RSS %.1f MB at start, %.1f MB at end, %.1f MB peak",
                           Double(s.rssStartBytes) / 1e6, Double(s.rssEndBytes) / 1e6, Double(s.rssPeakBytes) / 1e6)
            if let perConnection = s.rssPerConnectionBytes { line += String(format: " (%.1f KB per connection)", Double(perConnection) / 1e3) }
            if s.processEnded { line += "; the process ended during the run, so these stop at its last reading" }
            lines.append(line)
        } else {
            lines.append("server: not sampled (pass --server-pid PID of a relay on this machine)")
        }
        if let c = client {
            func percents(_ shares: [Double]) -> String { shares.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: ", ") }
            var line = String(format: "client: %.2f CPU-s (%.1f%% of one core); lws threads busy ", c.cpuSeconds, c.cpuShare * 100)
                + percents(c.threadBusy) + ", waiting for a CPU " + percents(c.threadWaiting)
            if let busy = c.steadyThreadBusy, let waiting = c.steadyThreadWaiting {
                line += " (while all pairs " + (plan.idle ? "held" : "streamed") + ": busy " + percents(busy)
                    + ", waiting " + percents(waiting) + ")"
            }
            if c.saturated {
                line += "; an lws client thread was saturated (on a CPU or waiting for one 90% of the time or more), so latency"
                    + " includes time frames waited in the tester: run it with more --workers if the machine has idle cores,"
                    + " or on another machine"
            }
            lines.append(line)
        }
        let lag = LatencySummary(microseconds: figures.sendLag)
        if lag.p99 > 10 {
            lines.append(String(format: "note: 1%% of frames were written %.0f ms or more after they were due: the tester was short of CPU"
                                + " (a busy machine?), and the latency includes that wait", lag.p99))
        }
        let errors = figures.relayErrors.map { ("relay \($0.key)", $0.value) } + figures.clientErrors.map { ("client \($0.key)", $0.value) }
        lines.append("errors: " + (errors.isEmpty ? "none" : errors.sorted { $0.0 < $1.0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")))
        let failed = outcomes.filter { $0.failure != nil }
        for o in failed.prefix(10) {
            lines.append("  pair \(o.index)" + (o.sessionID.map { " (\($0))" } ?? "") + ": \(o.failure!)")
        }
        if failed.count > 10 { lines.append("  ... and \(failed.count - 10) more failed pair(s); see the JSON report") }
        lines.append(passed ? "result: OK" : "result: FAILED")
        return lines.joined(separator: "\n")
    }

    /// Columns padded to line up: the first left-aligned, the rest right-aligned.
    static func row(_ cells: [String]) -> String {
        guard let first = cells.first else { return "" }
        return first.padding(toLength: max(16, first.count), withPad: " ", startingAt: 0)
            + cells.dropFirst().map { String(repeating: " ", count: max(0, 10 - $0.count)) + $0 }.joined(separator: " ")
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
