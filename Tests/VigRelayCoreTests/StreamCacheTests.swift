import Testing
import VigRelayCore

struct StreamCacheTests {
    let initSegment = mediaBytes(.camera, .initSegment, size: 40, fill: 0x11)

    func frame(_ sequence: UInt32, _ flags: MediaFrameFlags = [], size: Int = 100) -> [UInt8] {
        mediaBytes(.camera, flags, size: size, sequence: sequence)
    }

    @Test func startsEmpty() {
        let cache = StreamCache(capacityBytes: 1000)
        #expect(cache.replay.isEmpty)
        #expect(cache.initSegment == nil)
        #expect(cache.frameBytes == 0)
    }

    @Test func replaysInitSegmentThenFramesInOrder() throws {
        var cache = StreamCache(capacityBytes: 1000)
        let frames = [frame(1, .keyframe), frame(2), frame(3)]
        cache.record(initSegment, flags: .initSegment)
        for f in frames { try cache.record(f, flags: MediaFrameHeader.parse(f).flags) }
        #expect(cache.replay == [initSegment] + frames)
        #expect(cache.frameBytes == 300)
        #expect(cache.initSegment == initSegment)
    }

    @Test func keyframeDropsEarlierFramesButNotTheInitSegment() {
        var cache = StreamCache(capacityBytes: 10_000)
        cache.record(initSegment, flags: .initSegment)
        cache.record(frame(1, .keyframe), flags: .keyframe)
        cache.record(frame(2), flags: [])
        let key = frame(3, .keyframe)
        let delta = frame(4)
        cache.record(key, flags: .keyframe)
        cache.record(delta, flags: [])
        #expect(cache.replay == [initSegment, key, delta])
        #expect(cache.frameBytes == key.count + delta.count)
    }

    @Test func newInitSegmentReplacesTheOldAndDropsFrames() {
        var cache = StreamCache(capacityBytes: 10_000)
        cache.record(initSegment, flags: .initSegment)
        cache.record(frame(1, .keyframe), flags: .keyframe)
        let newInit = mediaBytes(.camera, .initSegment, size: 30, fill: 0x22)
        cache.record(newInit, flags: .initSegment)
        #expect(cache.replay == [newInit])
        #expect(cache.frameBytes == 0)
    }

    @Test func endOfStreamForgetsEverything() {
        var cache = StreamCache(capacityBytes: 10_000)
        cache.record(initSegment, flags: .initSegment)
        cache.record(frame(1, .keyframe), flags: .keyframe)
        cache.record(frame(2), flags: [])
        cache.record(frame(3, .endOfStream, size: 16), flags: .endOfStream)
        #expect(cache.replay.isEmpty)
        #expect(cache.initSegment == nil)
        #expect(cache.frameBytes == 0)
    }

    @Test func endOfStreamWinsOverOtherFlags() {
        var cache = StreamCache(capacityBytes: 10_000)
        cache.record(initSegment, flags: .initSegment)
        cache.record(frame(1, [.keyframe, .endOfStream]), flags: [.keyframe, .endOfStream])
        #expect(cache.replay.isEmpty)
    }

    @Test func dropsTheOldestFramesPastTheCap() throws {
        var cache = StreamCache(capacityBytes: 300)
        cache.record(initSegment, flags: .initSegment)
        let frames = [frame(1, .keyframe)] + (2...6).map { frame(UInt32($0)) }
        for f in frames {
            try cache.record(f, flags: MediaFrameHeader.parse(f).flags)
            #expect(cache.frameBytes <= 300)
            #expect(cache.frameBytes == cache.frames.reduce(0) { $0 + $1.count })
        }
        #expect(cache.replay == [initSegment] + frames.suffix(3), "init segment kept beside the newest 300 bytes")
    }

    @Test func exactlyAtTheCapKeepsEverything() throws {
        var cache = StreamCache(capacityBytes: 300)
        let frames = [frame(1, .keyframe), frame(2), frame(3)]
        for f in frames { try cache.record(f, flags: MediaFrameHeader.parse(f).flags) }
        #expect(cache.frames == frames)
    }

    @Test func aFrameLargerThanTheCapIsNotKept() {
        var cache = StreamCache(capacityBytes: 150)
        cache.record(frame(1, .keyframe), flags: .keyframe)
        cache.record(frame(2, size: 200), flags: [])
        #expect(cache.frameBytes <= 150)
        #expect(cache.frames.isEmpty)
    }
}
