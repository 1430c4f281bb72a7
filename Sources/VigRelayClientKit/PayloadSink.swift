import CLinuxIO
import Foundation

/// Writes received payloads to a file or stdout on its own thread, so the lws thread never blocks
/// on disk.
///
/// Bounded: `write` reports when more than `highWaterBytes` wait, and the receiver then pauses
/// reading (lws rx flow control) until `onDrained` says the queue fell below `lowWaterBytes`.
/// Thread-safe: `condition` guards the queue; the writer thread alone touches the descriptor.
final class PayloadSink: @unchecked Sendable {
    /// Queued bytes above which the receiver should pause.
    let highWaterBytes = 16 << 20
    /// Queued bytes below which a paused receiver may resume.
    let lowWaterBytes = 4 << 20
    private let name: String
    private let fd: Int32
    private let closeWhenDone: Bool
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    private var finishing = false
    private var pausedWriter = false
    private var failure: ClientError?
    private var onDrained: (@Sendable () -> Void)?
    private let done = Latch<Bool>()

    /// Opens (creating or truncating) `path`, or stdout for `-`, and starts the writer thread.
    init(path: String) throws(ClientError) {
        if path == "-" {
            fd = STDOUT_FILENO
            name = "stdout"
            closeWhenDone = false
        } else {
            // Mode 0600: what a practitioner saves is a family's camera (the relay keeps its files 0600 too).
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .io("cannot write \(path): \(String(cString: strerror(errno)))") }
            _ = fchmod(fd, 0o600)  // a file that was there keeps its mode through O_CREAT
            name = path
            closeWhenDone = true
        }
        let thread = Thread { [self] in
            _ = vr_name_thread("payload-sink")
            run()
        }
        thread.start()
    }

    /// Sets what to call when a paused receiver may resume (typically the loop's wake-up).
    func setOnDrained(_ action: @escaping @Sendable () -> Void) {
        condition.lock(); defer { condition.unlock() }
        onDrained = action
    }

    /// Queues bytes. Returns false when the queue is above the high-water mark: pause receiving.
    /// lws thread.
    @discardableResult
    func write(_ bytes: ArraySlice<UInt8>) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard failure == nil, !bytes.isEmpty else { return true }
        queue.append(Array(bytes))
        queuedBytes += bytes.count
        condition.broadcast()
        if queuedBytes > highWaterBytes {
            pausedWriter = true
            return false
        }
        return true
    }

    /// Whether a paused receiver may resume.
    var readyForMore: Bool {
        condition.lock(); defer { condition.unlock() }
        return queuedBytes <= lowWaterBytes
    }

    /// Writes out what is queued, closes the file and reports a write error, if any.
    func finish(timeoutSeconds: Double = 30) throws(ClientError) {
        condition.lock()
        finishing = true
        condition.broadcast()
        condition.unlock()
        guard done.wait(until: Date().addingTimeInterval(timeoutSeconds)) != nil else {
            throw .io("writing \(name) did not finish within \(Int(timeoutSeconds)) s")
        }
        condition.lock(); defer { condition.unlock() }
        if let failure { throw failure }
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty, !finishing { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                break
            }
            let batch = queue
            queue.removeAll()
            condition.unlock()
            var error: ClientError?
            for bytes in batch where error == nil { error = writeAll(bytes) }
            condition.lock()
            queuedBytes -= batch.reduce(0) { $0 + $1.count }
            if let error {
                failure = error
                queue.removeAll()
                queuedBytes = 0
            }
            let wake = pausedWriter && queuedBytes <= lowWaterBytes ? onDrained : nil
            if wake != nil { pausedWriter = false }
            condition.unlock()
            wake?()
        }
        if closeWhenDone { close(fd) }
        done.fulfil(true)
    }

    private func writeAll(_ bytes: [UInt8]) -> ClientError? {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return .io("cannot write \(name): \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        return nil
    }
}
