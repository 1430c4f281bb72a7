import Foundation
import Testing
import VigRelayStorage

/// `DiskWriter` runs urgent and batched jobs in the order submitted; batched ones wait at most a
/// little for company, and nothing queued is dropped at stop.
struct DiskWriterTests {
    /// The order jobs ran in, appended on the writer thread.
    private final class Ran: @unchecked Sendable {
        private let lock = NSLock()
        private var order: [Int] = []
        func add(_ n: Int) { lock.lock(); order.append(n); lock.unlock() }
        var all: [Int] { lock.lock(); defer { lock.unlock() }; return order }
    }

    @Test func batchedAndUrgentJobsRunInTheOrderSubmitted() {
        let writer = DiskWriter(name: "test-writer")
        writer.start()
        let ran = Ran()
        let done = DispatchSemaphore(value: 0)
        for n in 0..<5 { writer.submitBatched(bytes: 100) { ran.add(n) } }
        writer.submit { ran.add(5) }
        for n in 6..<9 { writer.submitBatched(bytes: 100) { ran.add(n) } }
        writer.submit { ran.add(9); done.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(ran.all == Array(0..<10))
        writer.stop()
    }

    @Test func batchedJobsRunWithoutAnUrgentOneToWakeTheWriter() {
        let writer = DiskWriter(name: "test-writer")
        writer.start()
        let done = DispatchSemaphore(value: 0)
        writer.submitBatched(bytes: 10) { done.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success)
        // The writer went back to waiting; a second lone batched job wakes it again.
        writer.submitBatched(bytes: 10) { done.signal() }
        #expect(done.wait(timeout: .now() + 10) == .success)
        writer.stop()
    }

    @Test func stopRunsEveryQueuedJobFirst() {
        let writer = DiskWriter(name: "test-writer")
        writer.start()
        let ran = Ran()
        let gate = DispatchSemaphore(value: 0)
        writer.submit { gate.wait() }  // holds the writer while the rest queue up
        for n in 0..<100 { writer.submitBatched(bytes: 64 << 10) { ran.add(n) } }
        gate.signal()
        writer.stop()
        #expect(ran.all == Array(0..<100))
    }
}
