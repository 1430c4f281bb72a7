import CLibWebSockets

/// An lws scheduled callback (`lws_sul_schedule`) that calls `ServiceLoop.onTick` on the service thread.
///
/// lws keeps a pointer to the timer struct, so it lives in manually allocated memory with the owner's
/// pointer right after it; the C callback finds the owner there. Thread: service thread only.
final class TickTimer {
    private let memory: UnsafeMutableRawPointer
    private static let ownerOffset = (MemoryLayout<lws_sorted_usec_list_t>.size + 15) & ~15

    init(owner: ServiceLoop) {
        memory = UnsafeMutableRawPointer.allocate(byteCount: Self.ownerOffset + 16, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: Self.ownerOffset + 16)
        memory.storeBytes(of: Unmanaged.passUnretained(owner).toOpaque(), toByteOffset: Self.ownerOffset, as: UnsafeMutableRawPointer.self)
    }

    /// (Re)schedules the tick; a pending one is replaced.
    func schedule(context: OpaquePointer, afterMicroseconds us: Int64) {
        lws_sul_schedule(context, 0, memory.assumingMemoryBound(to: lws_sorted_usec_list_t.self), { sul in
            guard let sul else { return }
            let owner = UnsafeMutableRawPointer(sul).load(fromByteOffset: TickTimer.ownerOffset, as: UnsafeMutableRawPointer.self)
            Unmanaged<ServiceLoop>.fromOpaque(owner).takeUnretainedValue().onTick()
        }, us)
    }

    /// Frees the memory; call after the context is destroyed.
    func release() { memory.deallocate() }
}
