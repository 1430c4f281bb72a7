import CLinuxIO
import Foundation

/// One share of `load`'s pairs and the thread that drives them. The worker's `ClientLoop` (its own
/// lws context and thread) carries the family side of its pairs and the practitioner side of the
/// previous worker's pairs; its driver thread (`load-driver-N`) steps each pair's protocol and paces
/// their frames, so no pair needs a thread of its own. Each worker records into its own `LoadStats`.
///
/// Thread: `pairs` and `schedule` belong to the driver thread once `start` ran (add pairs before);
/// `poke`, `windDown` and `abort` may be called from any thread (guarded by `condition`);
/// `finished` hands the outcomes to whoever waits.
final class LoadWorker: @unchecked Sendable {
    let index: Int
    let loop: ClientLoop
    let stats = LoadStats()
    /// This worker's share of the connect window (driver thread only).
    let gate: ConnectGate
    /// Fulfilled with every pair's outcome when the driver thread ends.
    let finished = Latch<[LoadPairOutcome]>()

    // Driver thread only (after `start`).
    private var pairs: [any LoadPairDriving] = []
    private var schedule = WakeSchedule(slots: 0)
    private var done: [Bool] = []

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var poked: [Int] = []
    private var windDownAt: UInt64?
    private var abortAt: UInt64?

    /// How late the driver may wake for a pair's turn (`LoadPlan.driverWakeSlackNanoseconds`).
    private let wakeSlackNanoseconds: UInt64

    /// A worker whose pairs connect at most `connectWindow` at a time (0: no limit) and whose driver
    /// may wake up to `wakeSlackNanoseconds` after a turn, serving every turn due by then.
    init(index: Int, loop: ClientLoop, connectWindow: Int = 0, wakeSlackNanoseconds: UInt64) {
        self.index = index
        self.loop = loop
        self.wakeSlackNanoseconds = wakeSlackNanoseconds
        gate = ConnectGate(capacity: connectWindow)
    }

    /// The slot the next added pair gets, for its `poke` closure. Before `start`.
    var nextSlot: Int { pairs.count }

    /// Adds a pair. Before `start`, from the thread that will call it.
    func add(_ pair: any LoadPairDriving) { pairs.append(pair) }

    /// Starts the driver thread.
    func start() {
        let thread = Thread { [self] in
            _ = vr_name_thread("load-driver-\(index)")
            finished.fulfil(run())
        }
        thread.start()
    }

    /// Asks the driver to step pair `slot` soon (an lws thread saw something). Any thread.
    func poke(_ slot: Int) {
        condition.lock(); defer { condition.unlock() }
        poked.append(slot)
        if poked.count == 1 { condition.signal() }
    }

    /// Ctrl-C: streaming pairs end now, pairs not streaming yet are cancelled. Any thread.
    func windDown() {
        condition.lock(); defer { condition.unlock() }
        if windDownAt == nil { windDownAt = MonotonicClock.nanoseconds() }
        condition.signal()
    }

    /// The hard deadline: unfinished pairs fail and the driver ends. Any thread.
    func abort() {
        condition.lock(); defer { condition.unlock() }
        if abortAt == nil { abortAt = MonotonicClock.nanoseconds() }
        condition.signal()
    }

    // MARK: driver thread

    private func run() -> [LoadPairOutcome] {
        schedule = WakeSchedule(slots: pairs.count)
        done = Array(repeating: false, count: pairs.count)
        var remaining = pairs.count
        var woundDown = false
        for slot in pairs.indices { schedule.schedule(slot, at: 0) }
        while remaining > 0 {
            condition.lock()
            let slots = poked
            poked.removeAll(keepingCapacity: true)
            let windDown = windDownAt
            let abort = abortAt
            condition.unlock()

            if let abort {
                for slot in pairs.indices where !done[slot] { pairs[slot].abort(now: abort) }
                break
            }
            if windDown != nil, !woundDown {
                woundDown = true
                let now = MonotonicClock.nanoseconds()
                for slot in pairs.indices where !done[slot] {
                    pairs[slot].windDown(now: now)
                    schedule.schedule(slot, at: now)
                }
            }
            for slot in slots where !done[slot] { remaining -= step(slot) }
            for slot in schedule.popDue(now: MonotonicClock.nanoseconds()) where !done[slot] { remaining -= step(slot) }
            if remaining == 0 { break }

            condition.lock()
            let windDownPending = windDownAt != nil && !woundDown
            if poked.isEmpty, !windDownPending, abortAt == nil {
                let now = MonotonicClock.nanoseconds()
                let next = min(schedule.nextTime().map { $0 + wakeSlackNanoseconds } ?? .max, now + 200_000_000)
                if next > now { _ = condition.wait(until: Date(timeIntervalSinceNow: Double(next - now) / 1e9)) }
            }
            condition.unlock()
        }
        return pairs.map { $0.outcome() }
    }

    /// Runs one pair's turn and books its next; returns 1 when the pair is done.
    private func step(_ slot: Int) -> Int {
        let now = MonotonicClock.nanoseconds()
        guard let next = pairs[slot].advance(now: now) else {
            done[slot] = true
            schedule.cancel(slot)
            return 1
        }
        schedule.schedule(slot, at: next)
        return 0
    }
}
