/// One ISO base media file format box (MP4, fragmented MP4): its four-character type and where its
/// header, body and end lie in the bytes it was read from.
///
/// Reading only: the relay cuts clips from fragmented MP4 recordings (Safari's MediaRecorder output)
/// by finding boxes, never by rewriting them. A pure value; usable from any thread.
public struct Mp4Box: Sendable, Equatable {
    /// The box type, e.g. `moov`, `moof`, `mdat` (four Latin-1 characters).
    public var type: String
    /// Where the box starts (its size field).
    public var offset: Int64
    /// Where its body starts: after the 8-byte header, or the 16-byte one of a 64-bit size.
    public var bodyOffset: Int64
    /// Just past the box.
    public var end: Int64

    /// Makes a box record.
    public init(type: String, offset: Int64, bodyOffset: Int64, end: Int64) {
        self.type = type
        self.offset = offset
        self.bodyOffset = bodyOffset
        self.end = end
    }

    /// The longest header: a 32-bit size of 1, the type, then a 64-bit size.
    public static let maxHeaderLength = 16

    /// The box whose header starts `bytes` (at least 8 bytes, 16 for a 64-bit size), placed at
    /// `offset`; `available` is how many bytes follow `offset` in the file (a size of 0 means "to the
    /// end"). Nil when the header is cut short or its size is smaller than the header itself.
    public static func header(_ bytes: some Collection<UInt8>, at offset: Int64, available: Int64) -> Mp4Box? {
        let head = Array(bytes.prefix(maxHeaderLength))
        guard head.count >= 8 else { return nil }
        var size = Int64(readUInt32(head, at: 0))
        var headerLength: Int64 = 8
        if size == 1 {
            guard head.count >= 16 else { return nil }
            let wide = readUInt64(head, at: 8)
            guard wide <= UInt64(Int64.max) else { return nil }
            size = Int64(wide)
            headerLength = 16
        } else if size == 0 {
            size = available
        }
        guard size >= headerLength, offset <= Int64.max - size else { return nil }
        return Mp4Box(type: fourCC(head, at: 4), offset: offset, bodyOffset: offset + headerLength, end: offset + size)
    }

    /// The boxes one after another in `bytes[range]` (offsets are indices of `bytes`); stops at the
    /// first header that is malformed or runs past the range.
    public static func boxes(in bytes: [UInt8], _ range: Range<Int>) -> [Mp4Box] {
        var out: [Mp4Box] = []
        var at = range.lowerBound
        let end = min(range.upperBound, bytes.count)
        while at + 8 <= end {
            guard let box = header(bytes[at..<end], at: Int64(at), available: Int64(end - at)),
                  box.end <= Int64(end) else { break }
            out.append(box)
            at = Int(box.end)
        }
        return out
    }

    /// The boxes inside this one (for a container such as `moov`, `trak` or `moof`), read from the
    /// same `bytes` it was found in.
    public func children(in bytes: [UInt8]) -> [Mp4Box] {
        Self.boxes(in: bytes, Int(bodyOffset)..<Int(end))
    }

    /// The first child of `type`, if any.
    public func child(_ type: String, in bytes: [UInt8]) -> Mp4Box? {
        children(in: bytes).first { $0.type == type }
    }

    /// A big-endian 32-bit number at `at`, or 0 when the bytes end first.
    static func readUInt32(_ bytes: [UInt8], at: Int) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { return 0 }
        return bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// A big-endian 64-bit number at `at`, or 0 when the bytes end first.
    static func readUInt64(_ bytes: [UInt8], at: Int) -> UInt64 {
        guard at >= 0, at + 8 <= bytes.count else { return 0 }
        return UInt64(readUInt32(bytes, at: at)) << 32 | UInt64(readUInt32(bytes, at: at + 4))
    }

    /// Four bytes as characters (each byte one Latin-1 character).
    static func fourCC(_ bytes: [UInt8], at: Int) -> String {
        String(bytes[at..<at + 4].map { Character(Unicode.Scalar($0)) })
    }
}
