import Testing
import VigRelayCore

/// The MP4 readers take whatever a family's browser (or anyone with its link) sent: a recording's
/// bytes are untrusted. Valid fragmented MP4 with a few bytes overwritten, mostly in box headers
/// (sizes and types, where a reader goes wrong), and random bytes: never a trap, and every box
/// found lies inside the bytes and inside its parent.
struct Mp4RandomInputTests {
    @Test(arguments: UInt64(1)...60)
    func survivesMutatedAndRandomInput(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let valid = seed % 3 == 0
            ? Mp4FragmentTests.movie(trexFlags: 0, audioFirst: seed % 2 == 0) + Mp4FragmentTests.moof(ticks: seed, trunFlags: 0x405)
            : try WebMScannerFixtureTests.fixture(Mp4FragmentTests.fixtureName)
        let headers = Self.walk(valid, 0..<valid.count, depth: 0).map { Int($0.offset) }
        var mutated = valid
        for _ in 0..<Int.random(in: 1...8, using: &rng) {
            let at = Bool.random(using: &rng)
                ? headers.randomElement(using: &rng)! + Int.random(in: 0..<8, using: &rng)
                : Int.random(in: 0..<mutated.count, using: &rng)
            mutated[at] = Bool.random(using: &rng) ? UInt8.random(in: 0...255, using: &rng) : [0, 1, 0xFF].randomElement(using: &rng)!
        }
        let randomBytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let cut = Array(mutated.prefix(Int.random(in: 0...mutated.count, using: &rng)))
        for bytes in [mutated, cut, randomBytes, Array(valid.prefix(8)) + randomBytes] {
            _ = Self.walk(bytes, 0..<bytes.count, depth: 0)
            let top = Mp4Box.boxes(in: bytes, 0..<bytes.count)
            let initEnd = top.first { $0.type == "moof" }.map { Int($0.offset) } ?? bytes.count
            guard let movie = Mp4InitSegment(Array(bytes[0..<initEnd])) else { continue }
            #expect(movie.fragmentDurationBox.map { $0.lowerBound >= 0 && $0.upperBound <= Int64(initEnd) } ?? true)
            for moof in top where moof.type == "moof" {
                let fragment = Mp4Fragment(moof: Array(bytes[Int(moof.offset)..<Int(moof.end)]), movie: movie)
                #expect(fragment != nil)
                if let timeMs = fragment?.timeMs { #expect((0...MediaTime.limitMs).contains(timeMs)) }
            }
        }
    }

    /// Every box in `bytes[range]` and, to a depth of 6, the boxes inside each (read as if each were
    /// a container, as a damaged file may make any box look); checks each lies inside its range and
    /// after the one before it.
    static func walk(_ bytes: [UInt8], _ range: Range<Int>, depth: Int) -> [Mp4Box] {
        var found: [Mp4Box] = []
        var previousEnd = Int64(range.lowerBound)
        for box in Mp4Box.boxes(in: bytes, range) {
            #expect(box.offset == previousEnd && box.offset < box.bodyOffset && box.bodyOffset <= box.end && box.end <= Int64(range.upperBound),
                    "\(box) in \(range)")
            previousEnd = box.end
            found.append(box)
            if depth < 6 { found += walk(bytes, Int(box.bodyOffset)..<Int(box.end), depth: depth + 1) }
        }
        return found
    }
}
