/// Lets at most `capacity` of one worker's pairs connect at once (`load --connect-window`): a pair
/// enters before opening its two connections and leaves once both have their `welcome` (or it
/// failed). Thousands of simultaneous TLS handshakes otherwise pile up until the relay's handshake
/// timeout cuts them off; a window measures how fast connections can be set up instead. Waiting
/// pairs are admitted in order; a seat freed is handed to the next waiter that still wants it.
///
/// Thread: the owning worker's driver thread only (pairs enter and leave while it steps them).
final class ConnectGate {
    /// Pairs allowed to be connecting at once; 0 means no limit.
    let capacity: Int
    /// Pairs connecting now.
    private(set) var inside = 0
    private var waiting: [() -> Bool] = []
    private var head = 0

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// Pairs waiting for a seat.
    var waitingCount: Int { waiting.count - head }

    /// Takes a seat now (true), or queues `admit`, which is called when a seat is handed over and
    /// returns whether the pair still wants it (false: it was cancelled meanwhile; the seat goes on).
    func enter(admit: @escaping () -> Bool) -> Bool {
        if capacity == 0 || (inside < capacity && waitingCount == 0) {
            inside += 1
            return true
        }
        waiting.append(admit)
        return false
    }

    /// Gives a seat back and hands it to the next waiter that still wants one.
    func leave() {
        inside = max(0, inside - 1)
        while inside < capacity || capacity == 0, head < waiting.count {
            let admit = waiting[head]
            head += 1
            inside += 1
            if admit() { break }
            inside -= 1
        }
        if head > 1024, head * 2 > waiting.count {  // drop the admitted prefix now and then
            waiting.removeFirst(head)
            head = 0
        }
    }
}

/// One pair's place in its worker's `ConnectGate`, if there is a gate. A value the pair keeps.
///
/// Thread: the owning worker's driver thread only.
struct ConnectSeat {
    enum State { case none, waiting, held, released }

    let gate: ConnectGate?
    private(set) var state = State.none

    init(gate: ConnectGate?) { self.gate = gate }

    /// Whether the pair may connect now (it holds a seat, or there is no gate). The first call
    /// enters the gate; when it is full, `admit` is queued (see `ConnectGate.enter`) and should call
    /// `admitted()` on this seat.
    mutating func take(admit: @escaping () -> Bool) -> Bool {
        guard state == .none else { return state == .held }
        guard let gate else {
            state = .held
            return true
        }
        state = gate.enter(admit: admit) ? .held : .waiting
        return state == .held
    }

    /// The gate handed a queued pair its seat.
    mutating func admitted() { if state == .waiting { state = .held } }

    /// Leaves the gate (idempotent): both sides were welcomed, or the pair gave up.
    mutating func release() {
        if state == .held { gate?.leave() }
        if state != .none { state = .released }
    }
}
