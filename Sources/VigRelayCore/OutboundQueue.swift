/// One message waiting to be written to a WebSocket.
public struct OutboundMessage: Sendable, Equatable {
    public var isBinary: Bool
    public var bytes: [UInt8]
    /// For media frames: the stream and, when a viewer can start decoding in this frame, the payload
    /// offset it can start at (0: the whole frame; more: a WebM keyframe cluster starts mid-frame);
    /// `essential`: an init segment or an end of stream, which a viewer cannot do without;
    /// `queueLimit`: the bytes the viewer's queue may hold for this stream now, from its recent rate
    /// (`RelayLimits.viewerQueueLimit`; nil: the queue's own `limitBytes`).
    public var media: (stream: UInt8, startOffset: Int?, essential: Bool, queueLimit: Int?)?
    /// For an error message: its code, which the server counts (`vigrelay_errors_total`).
    public var errorCode: RelayErrorCode?
    /// A control message that goes ahead of the media frames already queued (not of other control
    /// messages): the `pong`, which the pages' heartbeat and pacing then get as soon as the link
    /// allows, not after this queue.
    public var overtakesMedia = false

    public static func text(_ bytes: [UInt8]) -> OutboundMessage { .init(isBinary: false, bytes: bytes, media: nil) }

    /// A text message that goes ahead of the media frames already queued (`overtakesMedia`).
    public static func aheadOfMedia(_ bytes: [UInt8]) -> OutboundMessage {
        .init(isBinary: false, bytes: bytes, media: nil, overtakesMedia: true)
    }

    /// `{"type":"error","code":...,"message":...}` (`ControlEncoder.error`), carrying its code.
    public static func error(_ code: RelayErrorCode, _ message: String, id: MessageID? = nil) -> OutboundMessage {
        .init(isBinary: false, bytes: ControlEncoder.error(code, message, id: id), media: nil, errorCode: code)
    }

    /// A media frame whose start point comes from its header flags (keyframe, init segment, end of stream).
    public static func mediaFrame(_ bytes: [UInt8], header: MediaFrameHeader) -> OutboundMessage {
        mediaFrame(bytes, header: header, startOffset: header.flags.isStartPoint ? 0 : nil)
    }

    /// A media frame whose start point the relay found itself (`StreamCache.record`'s answer).
    public static func mediaFrame(_ bytes: [UInt8], header: MediaFrameHeader, startOffset: Int?, queueLimit: Int? = nil) -> OutboundMessage {
        .init(isBinary: true, bytes: bytes,
              media: (header.stream, startOffset, !header.flags.isDisjoint(with: [.initSegment, .endOfStream]), queueLimit))
    }

    public static func == (a: OutboundMessage, b: OutboundMessage) -> Bool {
        a.isBinary == b.isBinary && a.bytes == b.bytes && a.media?.stream == b.media?.stream
            && a.media?.startOffset == b.media?.startOffset && a.media?.essential == b.media?.essential
            && a.media?.queueLimit == b.media?.queueLimit && a.overtakesMedia == b.overtakesMedia
    }
}

/// A connection's send queue with the slow-viewer policy: bounded in bytes for media.
///
/// A viewer that keeps up loses nothing. The media limit is the one the newest media frame carries
/// (a few seconds of its stream at the rate it runs now), never below `limitBytes`. When media
/// would take the queue past that limit, that frame and every later frame of its stream are
/// skipped, whole, until a frame a decoder can start from fits again; just before it the viewer
/// gets `{"type":"skipped","frames":N}`. Where a decoder can start is the relay's own answer
/// (`OutboundMessage.media.startOffset`): for WebM the frame holding the start of a keyframe
/// cluster, sent from that cluster on (the bytes before it end the cluster that was being skipped);
/// for other payloads a frame flagged keyframe or init segment.
/// Init segments and ends of stream are never skipped (a viewer resuming without the new stream's
/// init segment could not decode it, and one that missed the end would wait for more): they end
/// a skip whether they fit or not.
/// Control messages are never skipped, so they have a limit of their own: one that would take the
/// queue past `hardLimitBytes` (the media limit and `headroomBytes`) is refused (`.overLimit`), and
/// the connection, which is not reading what it is sent, is closed. Without it a peer that stops
/// reading while it asks for replies (pings, bad frames) or is sent signals would grow the relay's
/// memory without end. A control message that `overtakesMedia` (the `pong`) is queued after the
/// last control message and the message being written, ahead of the media frames behind them.
/// Owned by the lws thread, one per connection.
public struct OutboundQueue: Sendable {
    /// Bytes of queued messages above which media is skipped, whatever the stream's rate.
    public let limitBytes: Int
    /// Bytes of queued messages above which media is skipped now: the newest media frame's
    /// `queueLimit`, at least `limitBytes`.
    public private(set) var mediaLimitBytes: Int
    /// Room above the media limit for control messages.
    public let headroomBytes: Int
    /// Bytes of queued messages no control message may take the queue past.
    public var hardLimitBytes: Int { mediaLimitBytes + headroomBytes }
    public private(set) var queuedBytes = 0
    /// Media frames skipped over the connection's life.
    public private(set) var skippedTotal = 0

    private var items: [OutboundMessage] = []
    private var head = 0
    /// Bytes of `items[head]` already handed out.
    private var sentOfHead = 0
    /// Per stream: frames skipped since the last start point that got through (nil: not skipping).
    private var skipping: [UInt8: Int] = [:]
    /// Per stream: init segments begun to be written (what a viewer counts as it receives them).
    private var initsWritten: [UInt8: Int] = [:]

    public init(limitBytes: Int, headroomBytes: Int) {
        self.limitBytes = limitBytes
        mediaLimitBytes = limitBytes
        self.headroomBytes = max(0, headroomBytes)
    }

    public var isEmpty: Bool { head == items.count }
    public var count: Int { items.count - head }

    /// What `enqueue` did with a message.
    public enum Outcome: Sendable, Equatable {
        case queued
        /// Skipped under the policy above (counted in `skippedTotal`).
        case skipped
        /// Queued as the first frame after a skip, preceded by the `skipped` notice.
        case resumed(afterSkipping: Int)
        /// A control message refused: it would take the queue past `hardLimitBytes`.
        case overLimit
    }

    /// Queues a message, or skips it under the policy above.
    @discardableResult
    public mutating func enqueue(_ message: OutboundMessage) -> Outcome {
        guard let media = message.media else {
            guard queuedBytes + message.bytes.count <= hardLimitBytes || isEmpty else { return .overLimit }
            if message.overtakesMedia { pushAheadOfMedia(message) } else { push(message) }
            return .queued
        }
        mediaLimitBytes = max(limitBytes, media.queueLimit ?? limitBytes)
        let fits = queuedBytes + message.bytes.count <= mediaLimitBytes || isEmpty
        if media.essential, queuedBytes + message.bytes.count > hardLimitBytes, !isEmpty { return .overLimit }
        if let skipped = skipping[media.stream] {
            guard let start = media.startOffset, fits || media.essential else {
                skipping[media.stream] = skipped + 1
                skippedTotal += 1
                return .skipped
            }
            skipping[media.stream] = nil
            push(Self.skippedNotice(frames: skipped, stream: media.stream))
            push(Self.resuming(message, at: start))
            return .resumed(afterSkipping: skipped)
        }
        guard fits || media.essential else {
            skipping[media.stream] = 1
            skippedTotal += 1
            return .skipped
        }
        push(message)
        return .queued
    }

    /// The viewer asked to be skipped to the present (`catch_up`: its page saw the stream arrive
    /// seconds late, behind this queue and the buffers below it). Drops the frames of `stream` queued
    /// before the newest start point still queued and resumes there, or, with none queued, drops
    /// every queued frame of it and skips what comes until the next start point, as if over the
    /// limit; either way the viewer gets `skipped` just before the frame it resumes at. With nothing
    /// of it waiting here (the frames came late from the sender, or the kernel holds them) nothing
    /// changes and `skipped` with `frames` 0 says so at once. A new stream queued (from its init
    /// segment, or an end of stream, on) is left whole: the viewer asked about the stream it was
    /// watching, and a clip in the shared review (a stream of its own) must arrive whole. The frame
    /// being written stays. `viewerStarts`: the init segments of the stream the viewer had received
    /// when it asked; fewer than were written means it asked about a stream that has since ended (a
    /// clip may be on its way): nil, nothing done. Returns the frames dropped.
    public mutating func catchUp(stream: UInt8, viewerStarts: Int? = nil) -> Int? {
        if let viewerStarts, viewerStarts < initsWritten[stream, default: 0] { return nil }
        guard skipping[stream] == nil else { return 0 }  // skipping already: the notice comes at its end
        let first = firstNotBegun
        let boundary = items[first...].firstIndex { $0.media?.stream == stream && $0.media?.essential == true }
        let newestStart = items[first..<(boundary.map { $0 + 1 } ?? items.count)]
            .lastIndex { $0.media?.stream == stream && $0.media?.startOffset != nil }
        let waiting = items[first..<(newestStart ?? items.count)]
        func droppable(_ item: OutboundMessage) -> Bool { item.media.map { $0.stream == stream && !$0.essential } ?? false }
        guard waiting.contains(where: droppable) else {
            push(Self.skippedNotice(frames: 0, stream: stream))
            return 0
        }
        var kept: [OutboundMessage] = []
        var dropped = 0
        for item in waiting {
            if droppable(item) {
                dropped += 1
                queuedBytes -= item.bytes.count
            } else {
                kept.append(item)
            }
        }
        if let newestStart, let start = items[newestStart].media?.startOffset {
            let resumed = Self.resuming(items[newestStart], at: start)
            let notice = Self.skippedNotice(frames: dropped, stream: stream)
            queuedBytes += notice.bytes.count + resumed.bytes.count - items[newestStart].bytes.count
            kept += [notice, resumed] + items[(newestStart + 1)...]
        } else {
            skipping[stream] = dropped
        }
        items.replaceSubrange(first..., with: kept)
        skippedTotal += dropped
        return dropped
    }

    private static func skippedNotice(frames: Int, stream: UInt8) -> OutboundMessage {
        .text(ControlEncoder.encode(["type": "skipped", "frames": frames, "stream": Int(stream)]))
    }

    /// `message` from its start point on (`MediaFrameHeader.cut`), which is now its first byte: a
    /// later catch-up that resumes at it again must not cut it twice.
    private static func resuming(_ message: OutboundMessage, at start: Int) -> OutboundMessage {
        var resumed = message
        resumed.bytes = MediaFrameHeader.cut(message.bytes, fromPayloadOffset: start)
        resumed.media?.startOffset = 0
        return resumed
    }

    /// The next piece to write, at most `maxBytes` long, with its position in its message.
    /// Call `consume` after writing it.
    public func peekChunk(maxBytes: Int) -> (bytes: ArraySlice<UInt8>, isBinary: Bool, isFirst: Bool, isLast: Bool)? {
        guard !isEmpty else { return nil }
        let item = items[head]
        let end = min(item.bytes.count, sentOfHead + maxBytes)
        return (item.bytes[sentOfHead..<end], item.isBinary, sentOfHead == 0, end == item.bytes.count)
    }

    /// Marks `count` bytes of the head message written.
    public mutating func consume(_ count: Int) {
        if sentOfHead == 0, count > 0, let media = items[head].media, media.essential,
           items[head].bytes[2] & MediaFrameFlags.initSegment.rawValue != 0 {
            initsWritten[media.stream, default: 0] += 1
        }
        sentOfHead += count
        guard sentOfHead >= items[head].bytes.count else { return }
        queuedBytes -= items[head].bytes.count
        items[head] = .text([])
        head += 1
        sentOfHead = 0
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// The index of the first queued message not begun to be written: nothing may go before it.
    private var firstNotBegun: Int { sentOfHead > 0 ? head + 1 : head }

    private mutating func push(_ message: OutboundMessage) {
        items.append(message)
        queuedBytes += message.bytes.count
    }

    /// Inserts `message` after the last control message still queued and after the message being
    /// written (never inside one), ahead of the media frames queued behind them.
    private mutating func pushAheadOfMedia(_ message: OutboundMessage) {
        var at = items.count
        while at > firstNotBegun, items[at - 1].media != nil { at -= 1 }
        items.insert(message, at: at)
        queuedBytes += message.bytes.count
    }
}
