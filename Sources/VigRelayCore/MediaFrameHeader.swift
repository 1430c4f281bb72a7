/// The 16-byte big-endian header in front of every binary media message.
///
/// Layout: `u8 version(=1) | u8 stream | u8 flags | u8 reserved | u32 sequence | u64 media time (µs)`.
/// The relay reads it to enforce roles and keep the late-joiner cache; it forwards it unchanged (only
/// a late joiner's first frame, cut at a WebM cluster by `StreamCache`, gets its flags rewritten).
public struct MediaFrameHeader: Sendable, Equatable {
    /// Size of the header on the wire.
    public static let size = 16
    /// The only header version this relay speaks.
    public static let currentVersion: UInt8 = 1

    public var version: UInt8
    /// Raw stream number: 1 camera, 2 screen; other values are refused by role checks.
    public var stream: UInt8
    public var flags: MediaFrameFlags
    public var sequence: UInt32
    public var mediaTimeMicros: UInt64

    public init(stream: MediaStream, flags: MediaFrameFlags = [], sequence: UInt32, mediaTimeMicros: UInt64) {
        self.version = Self.currentVersion
        self.stream = stream.rawValue
        self.flags = flags
        self.sequence = sequence
        self.mediaTimeMicros = mediaTimeMicros
    }

    /// The stream as a known kind, or nil for a number this relay does not know.
    public var streamKind: MediaStream? { MediaStream(rawValue: stream) }

    /// Why a binary message could not be read as a media frame.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case tooShort(Int)
        case unsupportedVersion(UInt8)

        public var description: String {
            switch self {
            case .tooShort(let n):
                return "binary frame has \(n) bytes; a media frame needs a 16-byte header (version, stream, flags, reserved, sequence, media time)"
            case .unsupportedVersion(let v):
                return "media frame header version \(v) is not supported; send version 1"
            }
        }
    }

    /// Reads the header from the start of a binary message.
    public static func parse<C: Collection>(_ bytes: C) throws(ParseError) -> MediaFrameHeader where C.Element == UInt8 {
        guard bytes.count >= size else { throw .tooShort(bytes.count) }
        var it = bytes.makeIterator()
        func next() -> UInt8 { it.next()! }
        let version = next()
        guard version == currentVersion else { throw .unsupportedVersion(version) }
        let stream = next()
        let flags = MediaFrameFlags(rawValue: next())
        _ = next()
        var seq: UInt32 = 0
        for _ in 0..<4 { seq = seq << 8 | UInt32(next()) }
        var time: UInt64 = 0
        for _ in 0..<8 { time = time << 8 | UInt64(next()) }
        var header = MediaFrameHeader(stream: .camera, flags: flags, sequence: seq, mediaTimeMicros: time)
        header.stream = stream
        return header
    }

    /// A media message with its payload cut to start at `payloadOffset` (a WebM keyframe cluster found
    /// mid-frame). A cut message is no longer an init segment; it starts where a decoder can, so it is
    /// flagged keyframe. At offset 0 a message already flagged a start point is returned as it is,
    /// and any other (a WebM keyframe cluster that starts it, found by the relay) is flagged keyframe:
    /// the pages' players resume after a skip only at a flagged frame.
    public static func cut(_ message: [UInt8], fromPayloadOffset payloadOffset: Int) -> [UInt8] {
        guard payloadOffset > 0 else {
            guard message.count >= size, !MediaFrameFlags(rawValue: message[2]).isStartPoint else { return message }
            var flagged = message
            flagged[2] |= MediaFrameFlags.keyframe.rawValue
            return flagged
        }
        var header = Array(message.prefix(size))
        header[2] = (header[2] & ~MediaFrameFlags.initSegment.rawValue) | MediaFrameFlags.keyframe.rawValue
        return header + message.dropFirst(size + payloadOffset)
    }

    /// The 16 header bytes, ready to be followed by the payload.
    public var bytes: [UInt8] {
        var out: [UInt8] = [version, stream, flags.rawValue, 0]
        out.reserveCapacity(Self.size)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: sequence >> UInt32(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: mediaTimeMicros >> UInt64(shift))) }
        return out
    }
}

/// Which media stream a frame belongs to. The family sends only camera, the practitioner only screen.
public enum MediaStream: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case camera = 1
    case screen = 2

    public var description: String { self == .camera ? "camera" : "screen" }

    /// The role allowed to send this stream.
    public var sender: Role { self == .camera ? .family : .practitioner }
}

/// Bit flags in a media frame header.
public struct MediaFrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The container's initialisation segment (WebM EBML header + Tracks, or MP4 ftyp+moov).
    public static let initSegment = MediaFrameFlags(rawValue: 1)
    /// The payload starts with a keyframe: a viewer can start decoding here.
    public static let keyframe = MediaFrameFlags(rawValue: 2)
    /// The sender ends this stream.
    public static let endOfStream = MediaFrameFlags(rawValue: 4)

    /// A viewer can start here by the header alone: keyframe, init segment or end of stream.
    public var isStartPoint: Bool { !isDisjoint(with: [.initSegment, .keyframe, .endOfStream]) }
}

/// The two sides of a session.
public enum Role: String, Sendable, Codable, CaseIterable {
    case practitioner
    case family

    /// The other side.
    public var peer: Role { self == .practitioner ? .family : .practitioner }
    /// The only stream this role may send.
    public var sendableStream: MediaStream { self == .family ? .camera : .screen }
}
