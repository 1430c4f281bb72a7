/// The Matroska elements the scanner understands, and what it does when one opens or closes.
extension WebMScanner {
    /// Element IDs the scanner acts on (with their length marker, as written in the stream).
    enum ID {
        /// EBML header (top level).
        static let ebml: UInt32 = 0x1A45_DFA3
        /// Segment (top level).
        static let segment: UInt32 = 0x1853_8067
        /// Cluster (Segment child).
        static let cluster: UInt32 = 0x1F43_B675
        /// Cues (Segment child).
        static let cues: UInt32 = 0x1C53_BB6B
        /// Tags (Segment child).
        static let tags: UInt32 = 0x1254_C367
        /// SeekHead (Segment child).
        static let seekHead: UInt32 = 0x114D_9B74
        /// Info (Segment child).
        static let info: UInt32 = 0x1549_A966
        /// Tracks (Segment child).
        static let tracks: UInt32 = 0x1654_AE6B
        /// Chapters (Segment child).
        static let chapters: UInt32 = 0x1043_A770
        /// Attachments (Segment child).
        static let attachments: UInt32 = 0x1941_A469
        /// Info/TimestampScale: nanoseconds per tick.
        static let timestampScale: UInt32 = 0x2A_D7B1
        /// Info/Duration (float, in ticks).
        static let duration: UInt32 = 0x4489
        /// Tracks/TrackEntry.
        static let trackEntry: UInt32 = 0xAE
        /// TrackEntry/TrackNumber.
        static let trackNumber: UInt32 = 0xD7
        /// TrackEntry/TrackType: 1 video, 2 audio.
        static let trackType: UInt32 = 0x83
        /// Cluster/Timestamp, in ticks.
        static let timestamp: UInt32 = 0xE7
        /// Cluster/SimpleBlock.
        static let simpleBlock: UInt32 = 0xA3
        /// Cluster/BlockGroup.
        static let blockGroup: UInt32 = 0xA0
        /// BlockGroup/Block.
        static let block: UInt32 = 0xA1
        /// BlockGroup/ReferenceBlock: the frame depends on another.
        static let referenceBlock: UInt32 = 0xFB
        /// Void: padding, allowed anywhere.
        static let void: UInt32 = 0xEC
    }

    /// The EBML magic every WebM stream starts with.
    static let magic: [UInt8] = [0x1A, 0x45, 0xDF, 0xA3]

    /// What the scanner is in the middle of.
    enum Phase: Sendable {
        /// Reading an element's ID and size into `pending`.
        case header
        /// Skipping this many payload bytes (always more than zero).
        case skipping(Int64)
        /// Reading the start of an element's payload into `pending`.
        case value(ValueRead)
        /// An error was reported; input is ignored.
        case failed
    }

    /// A value being read from the start of an element's payload.
    struct ValueRead: Sendable {
        /// The element's ID.
        var id: UInt32
        /// Offset of the element's ID.
        var offset: Int64
        /// Offset just past the element.
        var end: Int64
        /// What the value is.
        var kind: ValueKind
        /// Bytes to read (for a block: known once the track number's first byte is in).
        var need: Int
    }

    /// The values the scanner reads.
    enum ValueKind: Sendable {
        /// Unsigned integers, up to 8 bytes.
        case timestampScale, clusterTimestamp, trackNumber, trackType
        /// Track number, relative timestamp and flags of a SimpleBlock (or of a Block if not simple).
        case blockHeader(simple: Bool)
    }

    /// An open master element.
    struct Container: Sendable {
        /// The element's ID.
        var id: UInt32
        /// Offset just past it, or nil for an unknown size.
        var end: Int64?
    }

    /// The Cluster being read.
    struct ClusterState: Sendable {
        /// Offset of the Cluster's ID.
        var offset: Int64
        /// Its Timestamp, once read.
        var ticks: Int64?
        /// Its Timestamp in milliseconds, once read.
        var timestampMs: Int64 = 0
        /// True once its `.cluster` event went out.
        var reported = false
        /// True once any block of it was seen.
        var hasBlocks = false
    }

    /// The BlockGroup being read.
    struct GroupState: Sendable {
        /// Offset of the BlockGroup's ID.
        var offset: Int64
        /// Offset just past the BlockGroup.
        var end: Int64
        /// The first Block's track number, once read.
        var track: UInt64?
        /// The first Block's relative timestamp.
        var relative: Int16 = 0
        /// True once a ReferenceBlock was seen.
        var hasReference = false
    }

    /// The TrackEntry being read.
    struct TrackEntryState: Sendable {
        /// TrackNumber, once read.
        var number: UInt64?
        /// TrackType, once read.
        var type: UInt64?
    }

    /// What to do with an element, given its parent (0 at top level).
    enum Action {
        /// Read its children.
        case enter
        /// Count its payload away.
        case skip
        /// Read its payload as an unsigned integer.
        case readUInt(ValueKind)
        /// Read the header at the start of its payload, skip the frame data.
        case readBlock(simple: Bool)
    }

    /// The action for an element in a given parent: the scanner's whole view of the Matroska schema.
    static func action(for id: UInt32, in parent: UInt32) -> Action {
        switch (parent, id) {
        case (0, ID.segment), (ID.segment, ID.info), (ID.segment, ID.tracks), (ID.segment, ID.cluster),
             (ID.tracks, ID.trackEntry), (ID.cluster, ID.blockGroup):
            return .enter
        case (ID.info, ID.timestampScale): return .readUInt(.timestampScale)
        case (ID.trackEntry, ID.trackNumber): return .readUInt(.trackNumber)
        case (ID.trackEntry, ID.trackType): return .readUInt(.trackType)
        case (ID.cluster, ID.timestamp): return .readUInt(.clusterTimestamp)
        case (ID.cluster, ID.simpleBlock): return .readBlock(simple: true)
        case (ID.blockGroup, ID.block): return .readBlock(simple: false)
        default: return .skip
        }
    }

    /// 0 for top-level IDs, 1 for IDs that can only be Segment children, nil for the rest: an
    /// unknown-size element ends where an element of its own level or above starts.
    static func level(of id: UInt32) -> Int? {
        switch id {
        case ID.ebml, ID.segment: return 0
        case ID.cluster, ID.cues, ID.tags, ID.seekHead, ID.info, ID.tracks, ID.chapters, ID.attachments: return 1
        default: return nil
        }
    }

    /// Starts a master element the scanner enters; `position` is its first payload byte.
    mutating func open(id: UInt32, offset: Int64, end: Int64?) {
        switch id {
        case ID.segment:
            segmentSizeField = end == nil ? nil : (offset + Int64(idLength))..<position
            durationElement = nil
            timestampScale = Self.defaultTimestampScale
            videoTracks = []
            sawClusterInSegment = false
        case ID.cluster:
            if !sawClusterInSegment {
                sawClusterInSegment = true
                found.append(.initSegmentEnd(offset: offset))
            }
            cluster = ClusterState(offset: offset)
        case ID.blockGroup:
            group = GroupState(offset: offset, end: end ?? offset)
        case ID.trackEntry:
            trackEntry = TrackEntryState()
        default:
            break
        }
    }

    /// Ends a master element: reports what only its end tells.
    mutating func close(_ container: Container) {
        switch container.id {
        case ID.cluster:
            if let state = cluster, state.hasBlocks, !state.reported {
                found.append(.cluster(Cluster(offset: state.offset, timestampMs: state.timestampMs, keyframe: false)))
            }
            cluster = nil
        case ID.blockGroup:
            let state = group
            group = nil
            if let state, let track = state.track {
                blockSeen(track: track, relative: state.relative, keyframe: !state.hasReference,
                          offset: state.offset, end: state.end)
            }
        case ID.trackEntry:
            if let entry = trackEntry, entry.type == 1, let number = entry.number,
               videoTracks.count < Self.maxVideoTracks, !videoTracks.contains(number) {
                videoTracks.append(number)
            }
            trackEntry = nil
        default:
            break
        }
    }

    /// Keeps an unsigned integer value the scanner read.
    mutating func store(_ value: UInt64, _ kind: ValueKind, id: UInt32, offset: Int64) {
        switch kind {
        case .timestampScale:
            guard value > 0 else { return fail(.invalidValue(id: id, offset: offset)) }
            timestampScale = value
        case .clusterTimestamp:
            guard value <= UInt64(Int64.max), let ms = milliseconds(ticks: Int64(value)) else {
                return fail(.timestampOutOfRange(offset: offset))
            }
            cluster?.ticks = Int64(value)
            cluster?.timestampMs = ms
        case .trackNumber:
            trackEntry?.number = value
        case .trackType:
            trackEntry?.type = value
        case .blockHeader:
            break
        }
    }

    /// Reports a block, and its cluster if this is the cluster's first video block.
    mutating func blockSeen(track: UInt64, relative: Int16, keyframe: Bool, offset: Int64, end: Int64) {
        guard var state = cluster, let ticks = state.ticks else { return fail(.blockBeforeTimestamp(offset: offset)) }
        let (blockTicks, overflow) = ticks.addingReportingOverflow(Int64(relative))
        guard !overflow, let timeMs = milliseconds(ticks: blockTicks) else {
            return fail(.timestampOutOfRange(offset: offset))
        }
        let isVideo = videoTracks.isEmpty || videoTracks.contains(track)
        if isVideo, !state.reported {
            state.reported = true
            found.append(.cluster(Cluster(offset: state.offset, timestampMs: state.timestampMs, keyframe: keyframe)))
        }
        state.hasBlocks = true
        cluster = state
        lastBlockTimeMs = timeMs
        found.append(.block(Block(offset: offset, end: end, clusterOffset: state.offset, track: track,
                                  timeMs: timeMs, keyframe: keyframe, isVideo: isVideo)))
    }

    /// Ticks in milliseconds at the current TimestampScale (truncated toward zero), or nil when the
    /// result is past `MediaTime.limitMs` either way.
    func milliseconds(ticks: Int64) -> Int64? {
        let product = ticks.magnitude.multipliedFullWidth(by: timestampScale)
        let perMs: UInt64 = 1_000_000
        guard product.high < perMs else { return nil }
        let quotient = perMs.dividingFullWidth(product).quotient
        guard quotient <= UInt64(MediaTime.limitMs) else { return nil }
        return ticks < 0 ? -Int64(quotient) : Int64(quotient)
    }
}
