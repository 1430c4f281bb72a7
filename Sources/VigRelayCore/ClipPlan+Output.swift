/// Producing a clip's bytes from a plan: its length, the file bytes behind any slice of it (for a
/// Range request on the clip), and the patches over a chunk as it is streamed.
extension ClipPlan {
    /// The clip's length in bytes: the sum of `ranges`.
    public var byteCount: Int64 {
        ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) }
    }

    /// The ranges of the part's file holding the clip's bytes `output` (clamped to the clip), in
    /// order: read them, concatenate them, then `patch` the result at `output.lowerBound`.
    public func sourceRanges(covering output: Range<Int64>) -> [Range<Int64>] {
        var result: [Range<Int64>] = []
        var start: Int64 = 0
        for range in ranges {
            let end = start + (range.upperBound - range.lowerBound)
            let low = max(output.lowerBound, start)
            let high = min(output.upperBound, end)
            if low < high {
                result.append(range.lowerBound + (low - start)..<range.lowerBound + (high - start))
            }
            start = end
        }
        return result
    }

    /// Overwrites the bytes of `chunk`, which holds the clip's bytes from `outputOffset` on, with the
    /// parts of the patches that fall inside it.
    public func patch(_ chunk: inout [UInt8], at outputOffset: Int64) {
        let chunkEnd = outputOffset + Int64(chunk.count)
        for patch in patches {
            let patchEnd = patch.offset + Int64(patch.bytes.count)
            let low = max(patch.offset, outputOffset)
            let high = min(patchEnd, chunkEnd)
            guard low < high else { continue }
            for offset in low..<high {
                chunk[Int(offset - outputOffset)] = patch.bytes[Int(offset - patch.offset)]
            }
        }
    }

    /// The whole clip, patched, from the part's file bytes; nil when `file` is shorter than the plan
    /// needs. For small files and tests: the server streams `ranges` from disk instead.
    public func assemble(from file: [UInt8]) -> [UInt8]? {
        guard let last = ranges.map(\.upperBound).max(), last <= Int64(file.count) else { return nil }
        var clip: [UInt8] = []
        clip.reserveCapacity(Int(byteCount))
        for range in ranges {
            clip += file[Int(range.lowerBound)..<Int(range.upperBound)]
        }
        patch(&clip, at: 0)
        return clip
    }
}
