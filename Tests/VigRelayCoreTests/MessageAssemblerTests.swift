import Testing
import VigRelayCore

/// `MessageAssembler` fed as lws feeds it: a message's WebSocket frame in pieces (one TLS record
/// each at the relay), with the frame's remaining bytes announced on every piece.
struct MessageAssemblerTests {
    /// Feeds `message` in pieces of `piece` bytes, as one WebSocket frame; returns the outcomes.
    private func feed(_ assembler: inout MessageAssembler, _ message: [UInt8], piece: Int, binary: Bool = true) -> [MessageAssembler.Outcome] {
        var outcomes: [MessageAssembler.Outcome] = []
        var offset = 0
        message.withUnsafeBytes { raw in
            repeat {
                let end = min(message.count, offset + piece)
                outcomes.append(assembler.append(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), first: offset == 0,
                                                 final: end == message.count, binary: binary, frameRemaining: message.count - end))
                offset = end
            } while offset < message.count
        }
        return outcomes
    }

    @Test func piecesMakeOneMessage() {
        var assembler = MessageAssembler(limitBytes: 1 << 20)
        let message = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let outcomes = feed(&assembler, message, piece: 16_384)
        #expect(outcomes == [.partial, .partial, .message(message, binary: true)])
        #expect(feed(&assembler, Array("{\"type\":\"bye\"}".utf8), piece: 100, binary: false)
                == [.message(Array("{\"type\":\"bye\"}".utf8), binary: false)])
    }

    /// Each message is handed over in a buffer of about its own size, however many came before and
    /// are still held (the relay keeps a second of frames for late joiners): clearing a shared buffer
    /// with `keepingCapacity` used to give every message a buffer a little larger than the last.
    @Test func everyMessageGetsABufferOfItsOwnSize() {
        var assembler = MessageAssembler(limitBytes: 64 << 20)
        var held: [[UInt8]] = []
        for n in 0..<100 {
            let size = n % 10 == 0 ? 78_125 : 26_041
            let outcomes = feed(&assembler, [UInt8](repeating: UInt8(n), count: size), piece: 16_384)
            guard case .message(let message, _)? = outcomes.last else {
                Issue.record("message \(n) did not complete: \(outcomes)")
                return
            }
            #expect(message.count == size)
            #expect(message.capacity < size + 4096, "message \(n): \(message.capacity) bytes of capacity for \(size)")
            held.append(message)
        }
        #expect(held.count == 100)
    }

    @Test func aMessageOverTheLimitIsDroppedAndTheNextOneStartsAfresh() {
        var assembler = MessageAssembler(limitBytes: 1000)
        #expect(feed(&assembler, [UInt8](repeating: 1, count: 1200), piece: 600) == [.partial, .tooLarge])
        #expect(feed(&assembler, [1, 2, 3], piece: 3) == [.message([1, 2, 3], binary: true)])
    }

    /// A frame announced larger than `reserveLimitBytes` is not reserved for up front (a peer could
    /// announce a huge frame and send nothing); it still assembles as its bytes arrive.
    @Test func aHugeAnnouncedFrameReservesOnlyUpToTheCap() {
        var assembler = MessageAssembler(limitBytes: 64 << 20)
        let first: [UInt8] = [1, 2, 3, 4]
        let outcome = first.withUnsafeBytes {
            assembler.append($0, first: true, final: false, binary: true, frameRemaining: 32 << 20)
        }
        #expect(outcome == .partial)
        let last: [UInt8] = [5]
        guard case .message(let message, _) = last.withUnsafeBytes({ assembler.append($0, first: false, final: true, binary: true) }) else {
            Issue.record("no message")
            return
        }
        #expect(message == [1, 2, 3, 4, 5])
        #expect(message.capacity <= MessageAssembler.reserveLimitBytes + 4096)
    }
}
