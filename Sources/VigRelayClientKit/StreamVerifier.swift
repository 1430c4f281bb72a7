import Histogram
import VigRelayCore

/// Checks a stream of synthetic frames as it arrives: every frame intact, in order, once; and how
/// long each took (from the send time in its payload).
///
/// Pure apart from the arrival time it is given. Owned by one receiver (see `VerifyingReceiver`).
struct StreamVerifier {
    let sizing: FrameSizing
    private(set) var framesReceived = 0
    /// Message bytes received (headers included), end-of-stream excluded.
    private(set) var bytesReceived = 0
    private(set) var corrupt = 0
    private(set) var reordered = 0
    private(set) var duplicates = 0
    /// The sequence of the end-of-stream frame, i.e. how many frames the sender sent.
    private(set) var endSequence: UInt32?
    private(set) var lastArrivalNanoseconds: UInt64 = 0
    /// One-way latency in microseconds.
    private(set) var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    private var seen: [Bool] = []
    private var distinct = 0
    private var highest: Int64 = -1

    init(sizing: FrameSizing) { self.sizing = sizing }

    /// Takes one received media message of the stream.
    mutating func receive(_ header: MediaFrameHeader, message: [UInt8], arrivalNanoseconds now: UInt64) {
        if header.flags.contains(.endOfStream) {
            endSequence = header.sequence
            return
        }
        framesReceived += 1
        bytesReceived += message.count
        lastArrivalNanoseconds = now
        let sequence = Int(header.sequence)
        if sequence >= seen.count { seen.append(contentsOf: repeatElement(false, count: max(sequence + 1 - seen.count, seen.count))) }
        if seen[sequence] {
            duplicates += 1
        } else {
            seen[sequence] = true
            distinct += 1
            if Int64(sequence) < highest { reordered += 1 }
        }
        highest = max(highest, Int64(sequence))
        let reading = message.withUnsafeBytes { raw in
            CheckablePayload.read(UnsafeRawBufferPointer(rebasing: raw[MediaFrameHeader.size...]))
        }
        guard let reading, reading.intact, reading.sequence == UInt64(header.sequence),
              message.count - MediaFrameHeader.size == sizing.size(of: reading.sequence)
        else {
            corrupt += 1
            return
        }
        _ = latency.record(now >= reading.sentNanoseconds ? (now - reading.sentNanoseconds) / 1000 : 0)
    }

    /// Frames sent but never received.
    func lost(sent: Int) -> Int { max(0, sent - distinct) }
}
