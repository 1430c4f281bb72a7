import Foundation
import Histogram
import VigRelayCore

/// The figures of one verified stream in `pair`.
public struct StreamReport: Sendable {
    /// `camera` or `screen`.
    public var stream: String
    /// Frames the sender queued (end of stream excluded).
    public var framesSent: Int
    /// Frames that arrived, intact or not.
    public var framesReceived: Int
    /// Message bytes received (16-byte headers included).
    public var bytesReceived: Int
    /// From the first send to the last arrival.
    public var seconds: Double
    /// Frames sent that never arrived.
    public var lost: Int
    /// Frames whose size, sequence or filler bytes were wrong.
    public var corrupt: Int
    /// Frames that arrived after a later one.
    public var reordered: Int
    /// Frames that arrived more than once.
    public var duplicates: Int
    /// Whether the end-of-stream frame arrived.
    public var endOfStreamReceived: Bool
    /// One-way latency in milliseconds at p50, p90, p99, p99.9 and the maximum.
    public var latencyMilliseconds: [(label: String, value: Double)]

    init(stream: MediaStream, sent: SendSummary, verifier: StreamVerifier, latency histogram: Histogram<UInt64>) {
        self.stream = stream.description
        framesSent = sent.frames
        framesReceived = verifier.framesReceived
        bytesReceived = verifier.bytesReceived
        let end = verifier.lastArrivalNanoseconds > sent.startNanoseconds ? verifier.lastArrivalNanoseconds : sent.startNanoseconds
        seconds = Double(end - sent.startNanoseconds) / 1e9
        lost = verifier.lost(sent: sent.frames)
        corrupt = verifier.corrupt
        reordered = verifier.reordered
        duplicates = verifier.duplicates
        endOfStreamReceived = verifier.endSequence == UInt32(truncatingIfNeeded: sent.frames)
        latencyMilliseconds = LatencySummary(microseconds: histogram).labelled
    }

    /// Megabytes (10^6 bytes) per second received.
    public var throughputMBps: Double { seconds > 0 ? Double(bytesReceived) / seconds / 1e6 : 0 }

    /// Every frame arrived intact, once, in order, and the stream's end arrived.
    public var passed: Bool { lost == 0 && corrupt == 0 && reordered == 0 && duplicates == 0 && framesReceived == framesSent && endOfStreamReceived }
}

/// What `pair` measured, as text for people or JSON for scripts.
public struct PairReport: Sendable {
    /// The session `pair` created.
    public var sessionID: String
    /// One report per verified stream.
    public var streams: [StreamReport]
    /// A sender that stopped early, if one did.
    public var error: ClientError?

    /// True when every stream passed and no sender failed.
    public var passed: Bool { error == nil && !streams.isEmpty && streams.allSatisfy(\.passed) }

    /// Lines for people: frames, bytes, throughput, latency percentiles, problems, verdict.
    public var text: String {
        var lines = ["session \(sessionID)"]
        for s in streams {
            let direction = s.stream == "camera" ? "family -> practitioner" : "practitioner -> family"
            lines.append("\(s.stream) (\(direction)): frames \(s.framesReceived)/\(s.framesSent) received, bytes \(s.bytesReceived), "
                         + String(format: "%.2f s, throughput %.2f MB/s", s.seconds, s.throughputMBps))
            lines.append("\(s.stream) latency ms: " + s.latencyMilliseconds.map { "\($0.label) " + String(format: "%.3f", $0.value) }.joined(separator: "  "))
            lines.append("\(s.stream) lost \(s.lost), corrupt \(s.corrupt), reordered \(s.reordered), duplicate \(s.duplicates)"
                         + (s.endOfStreamReceived ? "" : ", end of stream missing"))
        }
        if let error { lines.append("sender error: \(error)") }
        lines.append(passed ? "result: OK" : "result: FAILED")
        return lines.joined(separator: "\n")
    }

    /// One JSON object with the same figures, for scripts.
    public var json: String {
        var object: [String: Any] = ["sessionId": sessionID, "passed": passed]
        object["streams"] = streams.map { s -> [String: Any] in
            var latency: [String: Any] = [:]
            for (label, value) in s.latencyMilliseconds { latency[label] = (value * 1000).rounded() / 1000 }
            return ["stream": s.stream, "framesSent": s.framesSent, "framesReceived": s.framesReceived, "bytes": s.bytesReceived,
                    "seconds": (s.seconds * 1000).rounded() / 1000, "throughputMBps": (s.throughputMBps * 100).rounded() / 100,
                    "latencyMs": latency, "lost": s.lost, "corrupt": s.corrupt, "reordered": s.reordered,
                    "duplicates": s.duplicates, "endOfStream": s.endOfStreamReceived]
        }
        if let error { object["error"] = error.description }
        return String(decoding: ControlEncoder.encode(object), as: UTF8.self)
    }
}
