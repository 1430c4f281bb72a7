import CLibWebSockets

/// An lws scheduled callback (`lws_sul_schedule`) that calls back into the `ServiceLoop` on the
/// service thread: `onTick` (the periodic tick) or `onHelloDeadline` (the oldest hello deadline).
///
/// lws keeps a pointer to the timer struct, so it lives in manually allocated memory with the owner's
/// pointer and the purpose right after it; the C callback finds them there. Thread: service thread only.
final class TickTimer {
    /// What the timer calls when it fires.
    enum Purpose: UInt8 {
        case tick
        case helloDeadline
    }

    private let memory: UnsafeMutableRawPointer
    private static let ownerOffset = (MemoryLayout<lws_sorted_usec_list_t>.size + 15) & ~15
    private static let purposeOffset = ownerOffset + MemoryLayout<UnsafeMutableRawPointer>.size

    init(owner: ServiceLoop, purpose: Purpose = .tick) {
        memory = UnsafeMutableRawPointer.allocate(byteCount: Self.ownerOffset + 16, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Self.ownerOffset + 16)
        memory.storeBytes(of: Unmanaged.passUnretained(owner).toOpaque(), toByteOffset: Self.ownerOffset, as: UnsafeMutableRawPointer.self)
        memory.storeBytes(of: purpose.rawValue, toByteOffset: Self.purposeOffset, as: UInt8.self)
    }

    /// (Re)schedules the timer; a pending one is replaced.
    func schedule(context: OpaquePointer, afterMicroseconds us: Int64) {
        lws_sul_schedule(context, 0, memory.assumingMemoryBound(to: lws_sorted_usec_list_t.self), { sul in
            guard let sul else { return }
            let raw = UnsafeMutableRawPointer(sul)
            let owner = Unmanaged<ServiceLoop>.fromOpaque(raw.load(fromByteOffset: TickTimer.ownerOffset, as: UnsafeMutableRawPointer.self))
                .takeUnretainedValue()
            switch Purpose(rawValue: raw.load(fromByteOffset: TickTimer.purposeOffset, as: UInt8.self)) {
            case .helloDeadline: owner.onHelloDeadline()
            default: owner.onTick()
            }
        }, us)
    }

    /// Frees the memory; call after the context is destroyed.
    func release() { memory.deallocate() }
}
