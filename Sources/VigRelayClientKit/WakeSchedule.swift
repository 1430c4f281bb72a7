/// When each pair of a `LoadWorker` wants its next turn: a min-heap of (time, slot) with at most
/// one live entry per slot. A slot rescheduled earlier leaves its old entry behind; `popDue` skips
/// entries that are no longer the slot's live one.
///
/// Pure; owned by one thread at a time (a `LoadWorker`'s driver; a `ClientLoop`'s timed wake-ups,
/// under its lock).
struct WakeSchedule {
    private var heap: [(time: UInt64, slot: Int)] = []
    /// The live entry's time per slot, nil when the slot has none.
    private var live: [UInt64?]

    /// Room for slots 0..<slots to begin with; a larger slot makes room for itself.
    init(slots: Int) { live = Array(repeating: nil, count: slots) }

    /// Asks for slot's turn at `time`, unless it already has an earlier (or equal) one.
    mutating func schedule(_ slot: Int, at time: UInt64) {
        if slot >= live.count { live += repeatElement(nil, count: slot + 1 - live.count) }
        if let current = live[slot], current <= time { return }
        live[slot] = time
        heap.append((time, slot))
        siftUp(heap.count - 1)
    }

    /// Forgets slot's turn (it is done).
    mutating func cancel(_ slot: Int) { if slot < live.count { live[slot] = nil } }

    /// The earliest live time, if any.
    mutating func nextTime() -> UInt64? {
        dropStale()
        return heap.first?.time
    }

    /// Removes and returns the slots whose time has come, earliest first.
    mutating func popDue(now: UInt64) -> [Int] {
        var due: [Int] = []
        while true {
            dropStale()
            guard let top = heap.first, top.time <= now else { return due }
            removeTop()
            live[top.slot] = nil
            due.append(top.slot)
        }
    }

    /// Entries in the heap, stale ones included (for tests).
    var storedCount: Int { heap.count }

    private mutating func dropStale() {
        while let top = heap.first, live[top.slot] != top.time { removeTop() }
    }

    private mutating func removeTop() {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].time < heap[parent].time else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].time < heap[smallest].time { smallest = left }
            if right < heap.count, heap[right].time < heap[smallest].time { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
