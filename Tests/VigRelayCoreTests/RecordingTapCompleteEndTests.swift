import Foundation
import Testing
@testable import VigRelayCore

/// Where the recording tap says a part may end (`RecordingChunk.completeEnd`) when the camera stops
/// mid-chunk: at the last complete block of a browser-like stream, at the last whole Cluster of an
/// ffmpeg one; for other payloads nowhere short of the last byte.
struct RecordingTapCompleteEndTests {
    /// What a part holds after some frames: its bytes, and where it may end (a file offset; nil: after every byte).
    struct Part {
        var bytes: [UInt8] = []
        var completeEnd: Int64?
        var lastBlockMs: Int64?
        var chunks = 0

        mutating func add(_ chunk: RecordingChunk) {
            if let c = chunk.completeEnd {
                #expect(c.offsetInChunk <= Int64(chunk.bytes.count), "never past the chunk")
                #expect(Int64(bytes.count) + c.offsetInChunk >= 0, "never before the part")
                completeEnd = Int64(bytes.count) + c.offsetInChunk
                lastBlockMs = c.lastBlockMs
            } else {
                completeEnd = nil
                lastBlockMs = nil
            }
            bytes += chunk.bytes
            chunks += 1
        }
    }

    /// Camera frames of `stream` cut into `size`-byte payloads, the first flagged init segment.
    static func frames(_ stream: ArraySlice<UInt8>, size: Int) -> [(MediaFrameHeader, [UInt8])] {
        stride(from: stream.startIndex, to: stream.endIndex, by: size).enumerated().map { i, at in
            let header = MediaFrameHeader(stream: .camera, flags: i == 0 ? [.initSegment] : [], sequence: UInt32(i),
                                          mediaTimeMicros: UInt64(i) * 100_000)
            return (header, header.bytes + stream[at..<min(at + size, stream.endIndex)])
        }
    }

    /// Records `stream` from its start (or from `startAfter` bytes in) through a fresh tap.
    static func record(_ stream: ArraySlice<UInt8>, size: Int, startAfter: Int = 0) -> Part {
        var tap = RecordingTap()
        var part = Part()
        var fed = 0
        for (h, m) in frames(stream, size: size) {
            if !tap.isRecording && fed >= startAfter { tap.start(id: "r") }
            for chunk in tap.frame(h, m) { part.add(chunk) }
            fed += m.count - MediaFrameHeader.size
        }
        return part
    }

    @Test(arguments: [1, 7, 1000])
    func aBrowserLikeStreamCutMidBlockEndsAtTheLastCompleteBlock(size: Int) {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        s.add(EBML.openCluster(5000, EBML.simpleBlock(1, 0, key: true), EBML.simpleBlock(1, 33, key: false)))
        s.add(EBML.openCluster(6000))
        let lastBlock = s.add(EBML.simpleBlock(1, 10, key: false))
        let cut = s.add(EBML.simpleBlock(1, 43, key: false))
        let part = Self.record(s.bytes[..<(Int(cut) + 5)], size: size)
        #expect(part.bytes == Array(s.bytes.prefix(Int(cut) + 5)), "every byte is written; the writer cuts at the end")
        #expect(part.completeEnd == cut, "just past the last whole SimpleBlock")
        #expect(part.lastBlockMs == 1010, "its time, from the part's first cluster")
        #expect(lastBlock < cut)
    }

    @Test(arguments: [(3000, 2589), (3794, 3794), (3795, 3794), (9000, 7308), (13000, 12987)])
    func anFFmpegStreamCutInsideAClusterEndsWhereItStarts(cut: Int, clusterStart: Int64) {
        let part = Self.record(RecordingTapTests.file[..<cut], size: 997)
        #expect(part.bytes.count == cut)
        #expect(part.completeEnd == clusterStart)
    }

    @Test func aWholeFileEndsAtItsLastByte() {
        let part = Self.record(RecordingTapTests.file[...], size: 4096)
        #expect(part.completeEnd == Int64(RecordingTapTests.file.count))
        #expect(part.lastBlockMs == 3900)
    }

    /// Started mid-stream: the part is the init segment, then the stream from the next keyframe
    /// cluster; its complete end is counted in the part, not the stream.
    @Test(arguments: [1, 500, 1000])
    func aRecordingStartedMidStreamCountsItsCompleteEndInThePart(size: Int) throws {
        let file = RecordingTapTests.file
        let stopAt = 9000  // inside the cluster at 7308; the recording starts at the key cluster 3794
        let part = Self.record(file[..<stopAt], size: size, startAfter: 3000)
        let key = 3794, initEnd = RecordingTapTests.initEnd
        #expect(part.bytes.count == initEnd + stopAt - key)
        #expect(part.completeEnd == Int64(initEnd + 7308 - key))
        #expect(part.lastBlockMs == Int64(900), "the last block before 7308 is at 1.9 s; the part's time starts at 1 s")
    }

    @Test func aRecordingStartedMidStreamAndStoppedBeforeAWholeClusterKeepsTheInitSegment() {
        let file = RecordingTapTests.file
        let part = Self.record(file[..<4000], size: 100, startAfter: 3000)
        #expect(part.completeEnd == Int64(RecordingTapTests.initEnd), "only the init segment is whole")
        #expect(part.lastBlockMs == nil)
    }

    @Test func otherPayloadsMayEndAnywhere() {
        var tap = RecordingTap()
        tap.start(id: "r")
        let first = MediaFrameHeader(stream: .camera, flags: .initSegment, sequence: 0, mediaTimeMicros: 0)
        let next = MediaFrameHeader(stream: .camera, flags: [], sequence: 1, mediaTimeMicros: 1)
        var part = Part()
        for chunk in tap.frame(first, first.bytes + Array("ftypisom".utf8)) + tap.frame(next, next.bytes + [1, 2, 3]) { part.add(chunk) }
        #expect(part.chunks == 2 && part.completeEnd == nil)
    }

    @Test func aStreamTheScannerGivesUpOnIsKeptWhole() {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.tracks(video: [1], audio: []))
        s.add(EBML.openCluster(0, EBML.simpleBlock(1, 0, key: true)))
        let part = Self.record((s.bytes + [0x00, 0x01, 0x02] + EBML.simpleBlock(1, 5, key: false))[...], size: 10)
        #expect(part.completeEnd == nil, "past bytes the relay cannot read, no cut")
    }

    /// Cluster times are the sender's: a first cluster at the limit and a later block 2 ms before
    /// zero are placed on the part's clock without overflowing; a time past the limit makes the
    /// stream one the relay cannot follow (kept byte for byte, no cut), never a trap.
    @Test(arguments: [1, 1000])
    func extremeClusterTimesNeitherTrapNorLoseBytes(size: Int) {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        s.add(EBML.openCluster(UInt64(MediaTime.limitMs), EBML.simpleBlock(1, 0, key: true)))
        s.add(EBML.openCluster(0, EBML.simpleBlock(1, -2, key: false), EBML.simpleBlock(1, 5, key: false)))
        let within = Self.record(s.bytes[...], size: size)
        #expect(within.bytes == s.bytes)
        #expect(within.lastBlockMs == -MediaTime.limitMs + 5 || within.lastBlockMs == 0)

        var past = WebMStreamBuilder()
        past.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        past.add(EBML.openCluster(UInt64(Int64.max), EBML.simpleBlock(1, 0, key: true)))
        past.add(EBML.openCluster(0, EBML.simpleBlock(1, -2, key: false)))
        let beyond = Self.record(past.bytes[...], size: size)
        #expect(beyond.bytes == past.bytes)
        #expect(beyond.completeEnd == nil)
    }

    /// A recording started mid-stream waits for a keyframe cluster. A cluster that never ends and
    /// never starts with a keyframe is not held whole (memory stays bounded), and the next keyframe
    /// cluster still starts the recording with the init segment before it.
    @Test func waitingThroughAnEndlessClusterHoldsBoundedMemory() throws {
        var s = WebMStreamBuilder()
        s.add(EBML.header + EBML.open(MKV.segment) + EBML.info(scale: 1_000_000) + EBML.tracks(video: [1], audio: []))
        let initEnd = s.bytes.count
        s.add(EBML.openCluster(0, EBML.simpleBlock(1, 0, key: true)))
        var tap = RecordingTap()
        var sequence: UInt32 = 0
        func send(_ payload: [UInt8], initSegment: Bool = false) -> [RecordingChunk] {
            let header = MediaFrameHeader(stream: .camera, flags: initSegment ? [.initSegment] : [], sequence: sequence, mediaTimeMicros: 0)
            sequence += 1
            return tap.frame(header, header.bytes + payload)
        }
        _ = send(s.bytes, initSegment: true)
        tap.start(id: "r")
        _ = send(EBML.openCluster(1000, EBML.simpleBlock(1, 0, key: false)))
        let block = EBML.element(MKV.simpleBlock, [0x81, 0, 0, 0] + [UInt8](repeating: 7, count: 1 << 20))
        var held = 0
        for _ in 0..<40 {  // 40 MiB of one cluster
            #expect(send(block).isEmpty)
            held = max(held, tap.pendingBytes)
        }
        #expect(held <= Int(RecordingTap.maxPendingBytes) + block.count, "held \(held) bytes")
        let key = EBML.openCluster(2000, EBML.simpleBlock(1, 0, key: true))
        let chunks = send(key)
        #expect(chunks.map { Array($0.bytes) } == [Array(s.bytes.prefix(initEnd)), key], "the init segment, then the keyframe cluster")
    }
}
