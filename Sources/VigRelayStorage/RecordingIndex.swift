import VigRelayCore

/// The `{rid}.index` file of a recording: what was appended where, and where the clusters start.
///
/// Text, append-only, one record per line, fields separated by one space, numbers in decimal:
///
/// ```
/// F part offset length mediaTimeUs sequence flags [lastBlockMs]   one appended frame payload
/// C part offset timeMs key                          a WebM Cluster starts (key 1: at a keyframe)
/// G part unixMs                                     a new part began after a reconnect, at that time
/// ```
///
/// `part` counts from 1; `offset` is a byte offset in that part's media file; `mediaTimeUs`,
/// `sequence` and `flags` are the media frame header's; `timeMs` is the Cluster's time in ms from the
/// part's first recorded cluster (a moment `t` of part N lies at the manifest's `startMs` of part N
/// plus `t` on the recording's timeline, where marks and clip times are). A `G` line comes before
/// the first line of its part.
/// A crash can leave the last line torn, so a reader ignores a last line without its newline, and
/// any line it cannot read (counted in `ignoredLines`). Pure value; usable from any thread.
public struct RecordingIndex: Sendable, Equatable {
    /// One `F` line: a frame payload appended to a part.
    public struct Frame: Sendable, Equatable {
        /// The part (1...) the payload was appended to.
        public var part: Int
        /// Where the payload starts in the part's file.
        public var offset: Int64
        /// The payload's length in bytes.
        public var length: Int64
        /// The media frame header's media time, in microseconds.
        public var mediaTimeUs: UInt64
        /// The media frame header's sequence number.
        public var sequence: UInt32
        /// The media frame header's flags (init segment, keyframe, end of stream).
        public var flags: UInt8
        /// The time of the latest WebM block in the payload, on the clock of the part's `C` lines
        /// (optional 8th field): where the part's media ends, beyond its last cluster start.
        public var lastBlockMs: Int64?

        /// Makes a frame record.
        public init(part: Int, offset: Int64, length: Int64, mediaTimeUs: UInt64, sequence: UInt32, flags: UInt8,
                    lastBlockMs: Int64? = nil) {
            self.part = part
            self.offset = offset
            self.length = length
            self.mediaTimeUs = mediaTimeUs
            self.sequence = sequence
            self.flags = flags
            self.lastBlockMs = lastBlockMs
        }

        /// The offset just past the payload.
        public var end: Int64 { offset + length }
    }

    /// One `C` line: a WebM Cluster start found in a part.
    public struct Cluster: Sendable, Equatable {
        /// The part (1...) the cluster is in.
        public var part: Int
        /// Where the Cluster element starts in the part's file.
        public var offset: Int64
        /// The Cluster's timestamp in milliseconds.
        public var timeMs: Int64
        /// Whether decoding can start at this cluster.
        public var keyframe: Bool

        /// Makes a cluster record.
        public init(part: Int, offset: Int64, timeMs: Int64, keyframe: Bool) {
            self.part = part
            self.offset = offset
            self.timeMs = timeMs
            self.keyframe = keyframe
        }
    }

    /// One line of the index.
    public enum Record: Sendable, Equatable {
        /// `F`: a frame payload.
        case frame(Frame)
        /// `C`: a cluster start.
        case cluster(Cluster)
        /// Part `part` began at `unixMs` (ms since 1970) after the stream restarted.
        case gap(part: Int, unixMs: Int64)

        /// The part the record belongs to.
        public var part: Int {
            switch self {
            case .frame(let f): f.part
            case .cluster(let c): c.part
            case .gap(let part, _): part
            }
        }

        /// The record as one index line, without the newline.
        public var line: String {
            var bytes: [UInt8] = []
            appendLine(to: &bytes)
            return String(decoding: bytes.dropLast(), as: UTF8.self)
        }

        /// Appends the record's line and its newline, as ASCII. Written digit by digit, not through
        /// string interpolation: the writer thread makes a line per camera payload, thousands a
        /// second with hundreds of recordings.
        public func appendLine(to out: inout [UInt8]) {
            switch self {
            case .frame(let f):
                out.append(UInt8(ascii: "F"))
                Self.appendField(Int64(f.part), to: &out)
                Self.appendField(f.offset, to: &out)
                Self.appendField(f.length, to: &out)
                Self.appendField(f.mediaTimeUs, to: &out)
                Self.appendField(UInt64(f.sequence), to: &out)
                Self.appendField(UInt64(f.flags), to: &out)
                if let ms = f.lastBlockMs { Self.appendField(ms, to: &out) }
            case .cluster(let c):
                out.append(UInt8(ascii: "C"))
                Self.appendField(Int64(c.part), to: &out)
                Self.appendField(c.offset, to: &out)
                Self.appendField(c.timeMs, to: &out)
                Self.appendField(UInt64(c.keyframe ? 1 : 0), to: &out)
            case .gap(let part, let unixMs):
                out.append(UInt8(ascii: "G"))
                Self.appendField(Int64(part), to: &out)
                Self.appendField(unixMs, to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }

        /// A space, then `value` in decimal.
        private static func appendField(_ value: Int64, to out: inout [UInt8]) {
            out.append(UInt8(ascii: " "))
            if value < 0 { out.append(UInt8(ascii: "-")) }
            appendDigits(value.magnitude, to: &out)
        }

        private static func appendField(_ value: UInt64, to out: inout [UInt8]) {
            out.append(UInt8(ascii: " "))
            appendDigits(value, to: &out)
        }

        private static func appendDigits(_ value: UInt64, to out: inout [UInt8]) {
            let start = out.count
            var rest = value
            repeat {
                out.append(UInt8(ascii: "0") + UInt8(rest % 10))
                rest /= 10
            } while rest > 0
            // Swapped in place: reversing a slice of `out` would copy the whole array.
            var (low, high) = (start, out.count - 1)
            while low < high {
                out.swapAt(low, high)
                low += 1
                high -= 1
            }
        }

        /// Reads one line (without its newline); nil when it is not a well-formed record.
        public init?(line: some StringProtocol) {
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            guard let kind = f.first, let part = f.count > 1 ? Int(f[1]) : nil, part >= 1 else { return nil }
            switch (kind, f.count) {
            case ("F", 7), ("F", 8):
                // Damaged lines (bit rot, an edit) must not make `end` or a part's times overflow.
                guard let offset = Int64(f[2]), offset >= 0, let length = Int64(f[3]), length >= 0, length <= Int64.max - offset,
                      let time = UInt64(f[4]), let sequence = UInt32(f[5]), let flags = UInt8(f[6]) else { return nil }
                var lastBlockMs: Int64?
                if f.count == 8 {
                    guard let ms = Int64(f[7]), abs(ms) <= MediaTime.limitMs else { return nil }
                    lastBlockMs = ms
                }
                self = .frame(Frame(part: part, offset: offset, length: length, mediaTimeUs: time,
                                    sequence: sequence, flags: flags, lastBlockMs: lastBlockMs))
            case ("C", 5):
                guard let offset = Int64(f[2]), offset >= 0, let time = Int64(f[3]), abs(time) <= MediaTime.limitMs,
                      f[4] == "0" || f[4] == "1" else { return nil }
                self = .cluster(Cluster(part: part, offset: offset, timeMs: time, keyframe: f[4] == "1"))
            case ("G", 3):
                guard let unixMs = Int64(f[2]) else { return nil }
                self = .gap(part: part, unixMs: unixMs)
            default:
                return nil
            }
        }
    }

    /// The records, in file order.
    public var records: [Record]
    /// Lines that were not well-formed records, a torn last line included.
    public var ignoredLines: Int

    /// An index holding `records`.
    public init(records: [Record] = [], ignoredLines: Int = 0) {
        self.records = records
        self.ignoredLines = ignoredLines
    }

    /// Reads an index file's text; a last line without a newline is torn (a crash mid-write) and ignored.
    public static func parse(_ text: String) -> RecordingIndex {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var ignored = 0
        // After a final newline the last piece is empty; otherwise it is a torn line.
        if let last = lines.popLast(), !last.isEmpty { ignored += 1 }
        var records: [Record] = []
        records.reserveCapacity(lines.count)
        for line in lines {
            if let record = Record(line: line) { records.append(record) } else { ignored += 1 }
        }
        return RecordingIndex(records: records, ignoredLines: ignored)
    }

    /// Reads an index file's bytes (see `parse(_:)` for text).
    public static func parse(bytes: [UInt8]) -> RecordingIndex {
        parse(String(decoding: bytes, as: UTF8.self))
    }

    /// The whole index as file text: every record's line followed by a newline.
    public var text: String {
        var bytes: [UInt8] = []
        for record in records { record.appendLine(to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The `F` records of one part, in order.
    public func frames(part: Int) -> [Frame] {
        records.compactMap { if case .frame(let f) = $0, f.part == part { f } else { nil } }
    }

    /// The `C` records of one part, in order.
    public func clusters(part: Int) -> [Cluster] {
        records.compactMap { if case .cluster(let c) = $0, c.part == part { c } else { nil } }
    }

    /// The `G` records: which part began when.
    public var gaps: [(part: Int, unixMs: Int64)] {
        records.compactMap { if case .gap(let part, let unixMs) = $0 { (part, unixMs) } else { nil } }
    }
}
