import Testing
@testable import VigRelayClientKit

struct WakeScheduleTests {
    @Test func slotsComeDueInTimeOrder() {
        var schedule = WakeSchedule(slots: 5)
        for (slot, time) in [(0, 50), (1, 10), (2, 30), (3, 20), (4, 40)] { schedule.schedule(slot, at: UInt64(time)) }
        #expect(schedule.nextTime() == 10)
        #expect(schedule.popDue(now: 5).isEmpty)
        #expect(schedule.popDue(now: 30) == [1, 3, 2])
        #expect(schedule.popDue(now: 100) == [4, 0])
        #expect(schedule.nextTime() == nil)
    }

    @Test func anEarlierTurnReplacesALaterOneAndALaterOneIsIgnored() {
        var schedule = WakeSchedule(slots: 2)
        schedule.schedule(0, at: 100)
        schedule.schedule(0, at: 20)   // earlier: replaces
        schedule.schedule(0, at: 60)   // later than the live one: ignored
        schedule.schedule(1, at: 40)
        #expect(schedule.popDue(now: 1000) == [0, 1], "slot 0 once, at 20; its stale turn at 100 is dropped")
        #expect(schedule.nextTime() == nil)
        schedule.schedule(0, at: 100)
        #expect(schedule.popDue(now: 1000) == [0])
    }

    @Test func aCancelledSlotNeverComesDue() {
        var schedule = WakeSchedule(slots: 3)
        schedule.schedule(0, at: 1)
        schedule.schedule(1, at: 2)
        schedule.cancel(0)
        #expect(schedule.popDue(now: 10) == [1])
    }

    @Test func manySlotsStayOrdered() {
        var schedule = WakeSchedule(slots: 1000)
        var rng = SystemRandomNumberGenerator()
        var times: [UInt64] = []
        for slot in 0..<1000 {
            let time = UInt64.random(in: 0...1_000_000, using: &rng)
            times.append(time)
            schedule.schedule(slot, at: time)
        }
        let order = schedule.popDue(now: .max)
        #expect(order.count == 1000)
        #expect(order.map { times[$0] } == times.sorted())
    }

    /// A `ClientLoop` keys its timed wake-ups by connection id, which only grows.
    @Test func aSlotBeyondTheFirstRoomMakesRoomForItself() {
        var schedule = WakeSchedule(slots: 0)
        schedule.cancel(7)  // nothing there: no effect
        schedule.schedule(40, at: 5)
        schedule.schedule(3, at: 9)
        schedule.schedule(40, at: 7)  // later than its live time: kept at 5
        #expect(schedule.nextTime() == 5)
        #expect(schedule.popDue(now: 10) == [40, 3])
        #expect(schedule.nextTime() == nil)
    }
}
