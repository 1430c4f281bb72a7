/// The byte-level state machine behind `WebMScanner.feed`.
///
/// Every loop turn consumes at least one byte; master elements nest at most three deep; the only
/// buffer is `pending` (at most 12 bytes). So no input can make it loop, recurse or grow.
extension WebMScanner {
    /// True once an error was reported.
    var isFailed: Bool { if case .failed = phase { true } else { false } }

    /// Runs the state machine over one chunk of the stream.
    mutating func consume(_ buffer: UnsafeBufferPointer<UInt8>) {
        var index = 0
        while index < buffer.count {
            switch phase {
            case .failed:
                position += Int64(buffer.count - index)
                return
            case .skipping(let left):
                let take = min(left, Int64(buffer.count - index))
                index += Int(take)
                position += take
                if take == left { endOfPayload() } else { phase = .skipping(left - take) }
            case .header:
                if pending.isEmpty { headerStart = position }
                pending.append(buffer[index])
                index += 1
                position += 1
                headerByteRead()
            case .value(let read):
                pending.append(buffer[index])
                index += 1
                position += 1
                valueByteRead(read)
            }
        }
    }

    /// Reports an error and stops reading for good.
    mutating func fail(_ error: ScanError) {
        phase = .failed
        self.error = error
        pending = []
        found.append(.error(error))
    }

    private mutating func headerByteRead() {
        let count = pending.count
        let byte = pending[count - 1]
        if !started {
            guard byte == Self.magic[count - 1] else { return fail(.notWebM) }
            if count == Self.magic.count { started = true }
        }
        if count == 1 {
            guard byte >= 0x10 else { return fail(.invalidElementID(offset: headerStart)) }
            idLength = byte.leadingZeroBitCount + 1
        }
        if count <= idLength { return }
        if count == idLength + 1 {
            guard byte != 0 else { return fail(.invalidElementSize(offset: headerStart)) }
            sizeLength = byte.leadingZeroBitCount + 1
        }
        guard count == idLength + sizeLength else { return }

        var id: UInt32 = 0
        for b in pending[0..<idLength] { id = id << 8 | UInt32(b) }
        let idMask: UInt32 = (1 << (7 * UInt32(idLength))) - 1
        guard id & idMask != 0, id & idMask != idMask else { return fail(.invalidElementID(offset: headerStart)) }

        var size = UInt64(pending[idLength] & (0xFF >> sizeLength))
        for b in pending[(idLength + 1)...] { size = size << 8 | UInt64(b) }
        let unknown = size == (1 << (7 * UInt64(sizeLength))) - 1
        pending.removeAll(keepingCapacity: true)
        // At most 2^56 - 2: fits in Int64.
        element(id: id, offset: headerStart, size: unknown ? nil : Int64(size))
    }

    /// Acts on a complete element header; `position` is the first payload byte.
    private mutating func element(id: UInt32, offset: Int64, size: Int64?) {
        if let level = Self.level(of: id) {
            while !isFailed, let top = stack.last, top.end == nil, let topLevel = Self.level(of: top.id), level <= topLevel {
                close(stack.removeLast())
            }
            if isFailed { return }
        }
        let parent = stack.last?.id ?? 0
        let action = Self.action(for: id, in: parent)
        var end: Int64?
        if let size {
            let (sum, overflow) = position.addingReportingOverflow(size)
            guard !overflow, size <= maxElementSize || id == ID.segment || id == ID.cluster else {
                return fail(.elementTooLarge(id: id, offset: offset, size: size))
            }
            if let parentEnd = stack.last(where: { $0.end != nil })?.end, sum > parentEnd {
                return fail(.elementOverrunsParent(id: id, offset: offset, end: sum, parentEnd: parentEnd))
            }
            end = sum
        } else {
            guard case .enter = action, id == ID.segment || id == ID.cluster else {
                return fail(.unknownSizeNotAllowed(id: id, offset: offset))
            }
        }

        if case .enter = action {} else { payloadID = id }
        switch action {
        case .enter:
            open(id: id, offset: offset, end: end)
            stack.append(Container(id: id, end: end))
            closeFinished()
        case .skip:
            if parent == 0, id == ID.ebml { found.append(.initSegmentStart(offset: offset)) }
            if parent == ID.blockGroup, id == ID.referenceBlock { group?.hasReference = true }
            if parent == ID.info, id == ID.duration, let end { durationElement = offset..<end }
            skip(to: end ?? position)
        case .readUInt(let kind):
            guard let end, end - position <= 8 else { return fail(.invalidValue(id: id, offset: offset)) }
            if end == position {
                store(0, kind, id: id, offset: offset)
                if !isFailed { endOfPayload() }
            } else {
                phase = .value(ValueRead(id: id, offset: offset, end: end, kind: kind, need: Int(end - position)))
            }
        case .readBlock(let simple):
            guard let end, end - position >= 4 else { return fail(.invalidValue(id: id, offset: offset)) }
            phase = .value(ValueRead(id: id, offset: offset, end: end, kind: .blockHeader(simple: simple), need: 4))
        }
    }

    private mutating func valueByteRead(_ read: ValueRead) {
        var read = read
        if case .blockHeader = read.kind, pending.count == 1 {
            guard pending[0] != 0 else { return fail(.invalidValue(id: read.id, offset: read.offset)) }
            read.need = pending[0].leadingZeroBitCount + 1 + 3
            guard Int64(read.need - pending.count) <= read.end - position else {
                return fail(.invalidValue(id: read.id, offset: read.offset))
            }
            phase = .value(read)
        }
        guard pending.count == read.need else { return }
        switch read.kind {
        case .blockHeader(let simple):
            let length = read.need - 3
            var track = UInt64(pending[0] & (0xFF >> length))
            for b in pending[1..<length] { track = track << 8 | UInt64(b) }
            let relative = Int16(bitPattern: UInt16(pending[length]) << 8 | UInt16(pending[length + 1]))
            let keyframe = pending[length + 2] & 0x80 != 0
            pending.removeAll(keepingCapacity: true)
            if simple {
                blockSeen(track: track, relative: relative, keyframe: keyframe, offset: read.offset, end: read.end)
            } else if group?.track == nil {
                group?.track = track
                group?.relative = relative
            }
        default:
            var value: UInt64 = 0
            for b in pending { value = value << 8 | UInt64(b) }
            pending.removeAll(keepingCapacity: true)
            store(value, read.kind, id: read.id, offset: read.offset)
        }
        if isFailed { return }
        skip(to: read.end)
    }

    private mutating func skip(to end: Int64) {
        if end > position { phase = .skipping(end - position) } else { endOfPayload() }
    }

    private mutating func endOfPayload() {
        phase = .header
        pending.removeAll(keepingCapacity: true)
        elementEnded(payloadID)
        closeFinished()
    }

    /// Closes every open element whose end (or whose ancestor's end) the stream has reached.
    private mutating func closeFinished() {
        while !isFailed, let index = stack.firstIndex(where: { ($0.end ?? .max) <= position }) {
            while !isFailed, stack.count > index {
                let container = stack.removeLast()
                close(container)
                elementEnded(container.id)
            }
        }
    }

    /// An element ended at `position` (a master element already taken off the stack): moves
    /// `completeEnd` here when the stream may end here (see `completeEnd`). An EBML header alone is
    /// no place to end: it needs its Segment.
    private mutating func elementEnded(_ id: UInt32) {
        guard !isFailed else { return }
        let isBlock = (id == ID.simpleBlock || id == ID.blockGroup) && stack.last?.id == ID.cluster
        if isBlock { endedBlockMs = lastBlockTimeMs }
        guard id != ID.ebml, stack.allSatisfy({ $0.id == ID.segment || $0.end == nil }),
              isBlock || !stack.contains(where: { $0.id == ID.cluster }) else { return }
        completeEnd = position
        completeEndBlockMs = endedBlockMs
    }
}
