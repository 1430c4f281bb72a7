import CLibWebSockets

/// An lws scheduled callback (`vr_timer_t`, lws's `lws_sul_schedule`) that calls back into the
/// `ServiceLoop` on the service thread: `onTick` (the periodic tick) or `onHelloDeadline` (the oldest
/// hello deadline).
///
/// lws keeps a pointer to the timer struct, so it lives in manually allocated memory; the C callback
/// finds this object through its user pointer. Thread: service thread only.
final class TickTimer {
    /// What the timer calls when it fires.
    enum Purpose {
        case tick
        case helloDeadline
    }

    private let timer: UnsafeMutablePointer<vr_timer_t>
    private unowned let owner: ServiceLoop
    private let purpose: Purpose

    init(owner: ServiceLoop, purpose: Purpose = .tick) {
        self.owner = owner
        self.purpose = purpose
        timer = UnsafeMutablePointer<vr_timer_t>.allocate(capacity: 1)
        timer.initialize(to: vr_timer_t())
        timer.pointee.user = Unmanaged.passUnretained(self).toOpaque()
        timer.pointee.fire = { user in
            guard let user else { return }
            let timer = Unmanaged<TickTimer>.fromOpaque(user).takeUnretainedValue()
            switch timer.purpose {
            case .tick: timer.owner.onTick()
            case .helloDeadline: timer.owner.onHelloDeadline()
            }
        }
    }

    /// (Re)schedules the timer; a pending one is replaced.
    func schedule(context: OpaquePointer, afterMicroseconds us: Int64) {
        vr_timer_schedule(context, timer, us)
    }

    /// Frees the memory; call after the context is destroyed.
    func release() { timer.deallocate() }
}
