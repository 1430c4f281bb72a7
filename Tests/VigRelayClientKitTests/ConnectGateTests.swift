import Testing
@testable import VigRelayClientKit

/// `--connect-window`: at most N pairs of a worker connecting at once, the rest admitted in order.
struct ConnectGateTests {
    @Test func pairsPastTheCapacityWaitAndAreAdmittedInOrderAsSeatsFree() {
        let gate = ConnectGate(capacity: 2)
        var admitted: [Int] = []
        let want = { (i: Int) in { () -> Bool in admitted.append(i); return true } }
        #expect(gate.enter(admit: want(0)) && gate.enter(admit: want(1)))
        #expect(!gate.enter(admit: want(2)) && !gate.enter(admit: want(3)))
        #expect(gate.inside == 2 && gate.waitingCount == 2)
        gate.leave()
        #expect(admitted == [2] && gate.inside == 2 && gate.waitingCount == 1)
        gate.leave()
        gate.leave()
        #expect(admitted == [2, 3] && gate.inside == 1 && gate.waitingCount == 0)
        #expect(gate.enter(admit: want(4)), "a free seat with nobody waiting is taken at once")
    }

    @Test func aSeatFreedGoesPastWaitersThatNoLongerWantIt() {
        let gate = ConnectGate(capacity: 1)
        var admitted: [Int] = []
        #expect(gate.enter { true })
        #expect(!gate.enter { false })  // cancelled while waiting
        #expect(!gate.enter { admitted.append(2); return true })
        gate.leave()
        #expect(admitted == [2] && gate.inside == 1 && gate.waitingCount == 0)
        gate.leave()
        #expect(gate.inside == 0)
    }

    @Test func noCapacityMeansNoLimit() {
        let gate = ConnectGate(capacity: 0)
        for _ in 0..<10_000 { #expect(gate.enter { Issue.record("never queued"); return true }) }
        gate.leave()
        #expect(gate.waitingCount == 0)
    }

    @Test func manyWaitersAreServedWithoutLosingOne() {
        let gate = ConnectGate(capacity: 3)
        var admitted = 0
        for _ in 0..<5000 { _ = gate.enter { admitted += 1; return true } }
        for _ in 0..<4997 { gate.leave() }
        #expect(admitted == 4997 && gate.inside == 3 && gate.waitingCount == 0)
    }

    @Test func aSeatIsTakenOnceAndGivenBackOnce() {
        let gate = ConnectGate(capacity: 1)
        var first = ConnectSeat(gate: gate)
        var second = ConnectSeat(gate: gate)
        #expect(first.take { true } && first.take { true } && gate.inside == 1)
        #expect(!second.take { true } && second.state == .waiting)
        first.release()
        second.admitted()
        #expect(second.state == .held && gate.inside == 1)
        first.release()  // idempotent: does not free the seat second holds
        #expect(gate.inside == 1)
        second.release()
        #expect(gate.inside == 0 && second.state == .released)
        var ungated = ConnectSeat(gate: nil)
        #expect(ungated.take { false } && ungated.state == .held)
    }
}
