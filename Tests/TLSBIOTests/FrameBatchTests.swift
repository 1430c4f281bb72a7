import CTLSBIO
import Testing

/// The batching write BIO (`Sources/CTLSBIO`), between an `SSL` and one end of a BIO pair that
/// stands for the socket: its buffer is the socket's room, and reading the other end is the peer
/// taking bytes. OpenSSL's records are stood in for by writes to the SSL's write BIO.
struct FrameBatchTests {
    @Test func aBatchsRecordsReachTheSocketOnlyWhenItEndsAndAllTogether() {
        let socket = PairedSocket(room: 1 << 20)
        #expect(vr_batch_install(socket.ssl) == 1)
        let records = [PairedSocket.bytes(16_406, from: 0), PairedSocket.bytes(16_406, from: 1), PairedSocket.bytes(26, from: 2)]
        vr_batch_begin(socket.ssl)
        for record in records { #expect(socket.record(record) == Int32(record.count)) }
        #expect(socket.drain().isEmpty, "nothing is sent while the batch gathers")
        #expect(vr_batch_end(socket.ssl) == 1)
        #expect(vr_batch_pending(socket.ssl) == 0)
        #expect(socket.drain() == records.flatMap { $0 })
    }

    @Test func whatTheSocketDoesNotTakeIsKeptAndSentFirstInOrder() {
        let socket = PairedSocket(room: 10_000)
        #expect(vr_batch_install(socket.ssl) == 1)
        let first = PairedSocket.bytes(25_000, from: 0)
        vr_batch_begin(socket.ssl)
        #expect(socket.record(Array(first[..<12_000])) == 12_000)
        #expect(socket.record(Array(first[12_000...])) == 13_000)
        #expect(vr_batch_end(socket.ssl) == 0, "the socket took 10,000 of 25,000 bytes")
        #expect(vr_batch_pending(socket.ssl) == 15_000)

        // A write that does not batch (lws's own, e.g. a close frame) waits behind what is kept, even
        // when the socket has room again: the kept bytes take it first.
        var received = socket.drain()
        let later = PairedSocket.bytes(300, from: 9)
        #expect(socket.record(later) == -1)
        #expect(socket.writeWouldBlock, "OpenSSL must see a write that would block, and retry it")
        #expect(vr_batch_pending(socket.ssl) == 5_000)

        received += socket.drain()
        #expect(vr_batch_flush(socket.ssl) == 1)
        #expect(vr_batch_pending(socket.ssl) == 0)
        #expect(socket.record(later) == 300)
        received += socket.drain()
        #expect(received == first + later)
    }

    @Test func aBatchAfterOneThatWasKeptGoesBehindIt() {
        let socket = PairedSocket(room: 4_000)
        #expect(vr_batch_install(socket.ssl) == 1)
        let first = PairedSocket.bytes(6_000, from: 0), second = PairedSocket.bytes(3_000, from: 5)
        vr_batch_begin(socket.ssl)
        _ = socket.record(first)
        #expect(vr_batch_end(socket.ssl) == 0)
        vr_batch_begin(socket.ssl)
        _ = socket.record(second)
        #expect(vr_batch_end(socket.ssl) == 0)
        #expect(vr_batch_pending(socket.ssl) == 5_000)
        var received = socket.drain()
        var flushes = 0
        while vr_batch_flush(socket.ssl) == 0, flushes < 1_000 {  // bounded: a regression must fail, not hang
            received += socket.drain()
            flushes += 1
        }
        received += socket.drain()
        #expect(received == first + second)
    }

    @Test func withoutTheBIOEveryCallIsANoOpThatSucceeds() {
        let socket = PairedSocket(room: 1_000)
        vr_batch_begin(socket.ssl)
        #expect(socket.record(PairedSocket.bytes(100, from: 0)) == 100, "written straight to the socket")
        #expect(vr_batch_end(socket.ssl) == 1)
        #expect(vr_batch_flush(socket.ssl) == 1)
        #expect(vr_batch_pending(socket.ssl) == 0)
        #expect(socket.drain() == PairedSocket.bytes(100, from: 0))
    }

    @Test func installingTwiceKeepsOneBIOAndWritesPassStraightThroughOutsideABatch() {
        let socket = PairedSocket(room: 1_000)
        #expect(vr_batch_install(socket.ssl) == 1)
        let installed = SSL_get_wbio(socket.ssl)
        #expect(vr_batch_install(socket.ssl) == 1)
        #expect(SSL_get_wbio(socket.ssl) == installed)
        #expect(SSL_get_rbio(socket.ssl) != installed, "reading stays on the socket")
        #expect(socket.record(PairedSocket.bytes(1_500, from: 3)) == 1_000, "a partial write, as the socket takes it")
        #expect(socket.drain() == PairedSocket.bytes(1_000, from: 3))
    }

    @Test func aFrameThatCannotBeWrittenLeavesNothingKeptOrSent() {
        let socket = PairedSocket(room: 1 << 20)
        #expect(vr_batch_install(socket.ssl) == 1)
        let head: [UInt8] = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
        let body = PairedSocket.bytes(65_536, from: 4)
        var scratch = [UInt8](repeating: 0, count: head.count + 16_384)
        scratch.replaceSubrange(0..<head.count, with: head)
        // Without a handshake SSL_write fails. (Frames written whole are what every relay e2e test
        // reads back and checks, byte for byte.)
        let sent = scratch.withUnsafeMutableBufferPointer { out in
            body.withUnsafeBufferPointer { vr_batch_send(socket.ssl, out.baseAddress, Int32(head.count), $0.baseAddress, Int32($0.count)) }
        }
        #expect(sent == -1, "a broken (here: never opened) connection is a failure")
        #expect(vr_batch_pending(socket.ssl) == 0, "nothing of a failed frame is kept")
        #expect(socket.drain().isEmpty, "nothing of a failed frame is sent")
        #expect(socket.record([1, 2, 3]) == 3, "and the BIO is out of its batch: writes pass through again")
    }
}


extension PairedSocket {
    /// What OpenSSL does for one record: a write to the SSL's write BIO.
    func record(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBytes { BIO_write(SSL_get_wbio(ssl), $0.baseAddress, Int32($0.count)) }
    }

    /// Everything the peer can read now.
    func drain() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(peer, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { return out }
            out += chunk.prefix(Int(n))
        }
    }

    var writeWouldBlock: Bool { Self.wouldBlock(SSL_get_wbio(ssl), BIO_FLAGS_WRITE) }
}
