import CTLSBIO
import Testing

/// The read-ahead BIO (`Sources/CTLSBIO/tls_read_ahead.c`), between an `SSL` and one end of a BIO
/// pair that stands for the socket: writing the other end is the peer sending. OpenSSL's asks are
/// stood in for by reads from the SSL's read BIO: a record's 5-byte header, then its body.
struct ReadAheadTests {
    /// Three records of a 64 KiB frame as they come: a 5-byte header, then a body.
    static let records = [16_401, 16_401, 32_000].enumerated().map { index, body in
        (header: PairedSocket.bytes(5, from: 1_000 * index), body: PairedSocket.bytes(body, from: 1_000 * index + 5))
    }

    @Test func oneReadFromTheSocketAnswersTheAsksOfManyRecords() {
        let socket = PairedSocket()
        #expect(vr_read_ahead_install(socket.ssl, 256 << 10) == 1)
        let sent = Self.records.flatMap { $0.header + $0.body }
        socket.send(sent)

        var received: [UInt8] = []
        for (index, record) in Self.records.enumerated() {
            #expect(socket.ask(5) == record.header)
            if index == 0 {
                #expect(socket.inSocket == 0, "the first ask took everything the socket held")
                #expect(socket.readAhead == sent.count - 5)
                #expect(vr_read_ahead_pending(socket.ssl) == sent.count - 5)
            }
            #expect(socket.ask(record.body.count) == record.body)
            received += record.header + record.body
        }
        #expect(received == sent)
        #expect(socket.readAhead == 0)
        #expect(socket.ask(5) == nil, "the socket is empty")
        #expect(socket.readWouldBlock, "and says so as the socket would: try again")
    }

    @Test func oneReadTakesAtMostTheCapacity() {
        let socket = PairedSocket()
        #expect(vr_read_ahead_install(socket.ssl, 20_000) == 1)
        let sent = PairedSocket.bytes(50_000, from: 3)
        socket.send(sent)
        #expect(socket.ask(5) == Array(sent[..<5]))
        #expect(socket.inSocket == 30_000)
        #expect(vr_read_ahead_pending(socket.ssl) == 19_995)
        #expect(socket.readAhead == 19_995 + 30_000, "what it holds, and what the BIO under it holds")
        #expect(socket.ask(30_000) == Array(sent[5..<20_000]), "an ask gets at most what one read brought")
        #expect(socket.ask(30_000) == Array(sent[20_000..<40_000]))
        #expect(socket.inSocket == 10_000)
    }

    @Test func anAskForMoreThanIsHeldGetsWhatIsHeldThenTheSocketIsReadAgain() {
        let socket = PairedSocket()
        #expect(vr_read_ahead_install(socket.ssl, 256 << 10) == 1)
        let record = Self.records[0]
        socket.send(record.header + Array(record.body[..<10_000]))
        #expect(socket.ask(5) == record.header)
        #expect(socket.ask(record.body.count) == Array(record.body[..<10_000]), "what is held, as a short read")
        #expect(socket.ask(record.body.count - 10_000) == nil)
        #expect(socket.readWouldBlock)
        socket.send(Array(record.body[10_000...]))
        #expect(socket.ask(record.body.count - 10_000) == Array(record.body[10_000...]))
        #expect(socket.readAhead == 0)
    }

    @Test func connectionsReadingOneAfterAnotherKeepTheirOwnBytes() {
        // A buffer released by one connection is the next one's (the thread's spare): one still
        // holding bytes must keep them whatever the others read meanwhile.
        let sockets = (0..<4).map { _ in PairedSocket() }
        for socket in sockets { #expect(vr_read_ahead_install(socket.ssl, 64 << 10) == 1) }
        let sent = (0..<4).map { PairedSocket.bytes(40_000, from: $0 + 1) }
        for (socket, bytes) in zip(sockets, sent) { socket.send(bytes) }

        #expect(sockets[0].ask(10_000) == Array(sent[0][..<10_000]), "0 holds 30,000 bytes")
        #expect(sockets[1].ask(40_000) == sent[1], "1 empties its buffer: the thread's spare now")
        #expect(sockets[2].ask(10_000) == Array(sent[2][..<10_000]), "2 reads into that spare and holds the rest")
        #expect(sockets[3].ask(10_000) == Array(sent[3][..<10_000]), "3 needs a buffer of its own")
        for (socket, bytes) in zip(sockets, sent) where socket !== sockets[1] {
            #expect(socket.ask(30_000) == Array(bytes[10_000...]))
        }
        sockets[1].send(sent[1])
        #expect(sockets[1].ask(40_000) == sent[1])
        #expect(sockets.allSatisfy { $0.readAhead == 0 })
    }

    @Test func installingTwiceKeepsOneBIOAndWritesStillReachTheSocket() {
        let socket = PairedSocket()
        #expect(vr_read_ahead_install(socket.ssl, 256 << 10) == 1)
        let rbio = SSL_get_rbio(socket.ssl)
        #expect(vr_read_ahead_install(socket.ssl, 256 << 10) == 1)
        #expect(SSL_get_rbio(socket.ssl) == rbio)
        let bytes = PairedSocket.bytes(100, from: 9)
        let n = bytes.withUnsafeBytes { BIO_write(SSL_get_wbio(socket.ssl), $0.baseAddress, Int32($0.count)) }
        #expect(n == 100)
        var out = [UInt8](repeating: 0, count: 100)
        #expect(out.withUnsafeMutableBytes { BIO_read(socket.peer, $0.baseAddress, 100) } == 100)
        #expect(out == bytes)
    }

    @Test func withoutItTheReaderSeesNothingReadAhead() {
        let socket = PairedSocket()
        socket.send(PairedSocket.bytes(1_000, from: 0))
        #expect(vr_read_ahead_pending(socket.ssl) == 0)
        #expect(socket.ask(5) == PairedSocket.bytes(5, from: 0))
        #expect(socket.inSocket == 995, "the plain socket BIO reads only what is asked")
    }
}

extension PairedSocket {
    /// The peer sends `bytes`.
    func send(_ bytes: [UInt8]) {
        let n = bytes.withUnsafeBytes { BIO_write(peer, $0.baseAddress, Int32($0.count)) }
        precondition(n == Int32(bytes.count))
    }

    /// One ask of OpenSSL's for `count` bytes: what the read BIO returned (nil for -1).
    func ask(_ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { BIO_read(SSL_get_rbio(ssl), $0.baseAddress, Int32(count)) }
        return n < 0 ? nil : Array(out.prefix(Int(n)))
    }

    /// Bytes still in the socket, not yet read from it.
    var inSocket: Int { Int(BIO_ctrl_pending(near)) }

    /// Bytes read from the socket and not yet asked for, as the relay's reader sees them.
    var readAhead: Int { Int(BIO_ctrl_pending(SSL_get_rbio(ssl))) }

    var readWouldBlock: Bool { Self.wouldBlock(SSL_get_rbio(ssl), BIO_FLAGS_READ) }
}
