import VigRelayCore

/// What one received frame of a verified stream turned out to be.
enum FrameCheck: Sendable, Equatable {
    /// The end-of-stream frame (flag 4).
    case endOfStream
    /// Intact, with its one-way latency in microseconds (arrival minus the send time in its payload).
    case intact(latencyMicros: UInt64)
    /// Wrong size, sequence, flags, media time or filler bytes.
    case corrupt
}

/// Checks a stream of synthetic frames as it arrives: every frame intact, in order, once. The caller
/// records the latency `receive` returns in its own histogram (one per thread in `load`, instead of
/// one per stream).
///
/// Pure apart from the arrival time it is given. Owned by one receiver (see `VerifyingReceiver`, `LoadStream`).
/// Memory: one bit per sequence number seen.
struct StreamVerifier: Sendable {
    /// Sequence numbers above this are counted corrupt instead of tracked (bounds the bitmap at 8 MiB).
    static let highestTrackedSequence = (1 << 26) - 1

    let sizing: FrameSizing
    private(set) var framesReceived = 0
    /// Message bytes received (headers included), end-of-stream excluded.
    private(set) var bytesReceived = 0
    /// Payload bytes received (headers excluded).
    private(set) var payloadBytesReceived = 0
    private(set) var corrupt = 0
    private(set) var reordered = 0
    private(set) var duplicates = 0
    /// The sequence of the end-of-stream frame, i.e. how many frames the sender sent.
    private(set) var endSequence: UInt32?
    private(set) var lastArrivalNanoseconds: UInt64 = 0
    /// Distinct sequence numbers received.
    private(set) var distinct = 0
    private var seen: [UInt64] = []
    private var highest: Int64 = -1

    init(sizing: FrameSizing) { self.sizing = sizing }

    /// Takes one received media message of the stream. With `mediaTimeBase` (`load`, whose frames'
    /// media time is when they were due from that base) the header's media time must not place the
    /// frame after the write time stamped in its payload (a frame is written once due, never before).
    mutating func receive(_ header: MediaFrameHeader, message: [UInt8], arrivalNanoseconds now: UInt64,
                          mediaTimeBase: UInt64? = nil) -> FrameCheck {
        if header.flags.contains(.endOfStream) {
            endSequence = header.sequence
            return .endOfStream
        }
        framesReceived += 1
        bytesReceived += message.count
        payloadBytesReceived += message.count - MediaFrameHeader.size
        lastArrivalNanoseconds = now
        let sequence = Int(header.sequence)
        guard sequence <= Self.highestTrackedSequence else {
            corrupt += 1
            return .corrupt
        }
        let (word, bit) = (sequence >> 6, UInt64(1) << UInt64(sequence & 63))
        if word >= seen.count { seen.append(contentsOf: repeatElement(0, count: max(word + 1 - seen.count, seen.count))) }
        if seen[word] & bit != 0 {
            duplicates += 1
        } else {
            seen[word] |= bit
            distinct += 1
            if Int64(sequence) < highest { reordered += 1 }
        }
        highest = max(highest, Int64(sequence))
        let reading = message.withUnsafeBytes { raw in
            CheckablePayload.read(UnsafeRawBufferPointer(rebasing: raw[MediaFrameHeader.size...]))
        }
        guard let reading, reading.intact, reading.sequence == UInt64(header.sequence),
              message.count - MediaFrameHeader.size == sizing.size(of: reading.sequence),
              header.flags == sizing.flags(of: reading.sequence),
              mediaTimeBase.map({ Self.isDueBy(header.mediaTimeMicros, base: $0, stamp: reading.sentNanoseconds) }) ?? true
        else {
            corrupt += 1
            return .corrupt
        }
        return .intact(latencyMicros: now >= reading.sentNanoseconds ? (now - reading.sentNanoseconds) / 1000 : 0)
    }

    /// Whether `base` + `micros` µs comes no later than `stamp` ns, to within the microsecond the
    /// header rounds to (never overflowing: the header is the peer's to corrupt).
    static func isDueBy(_ micros: UInt64, base: UInt64, stamp: UInt64) -> Bool {
        let (nanos, overflow) = micros.multipliedReportingOverflow(by: 1000)
        let (placed, past) = base.addingReportingOverflow(nanos)
        return !overflow && !past && placed <= stamp
    }

    /// Frames sent but never received.
    func lost(sent: Int) -> Int { max(0, sent - distinct) }
}
