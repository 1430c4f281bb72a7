import Testing
import VigRelayCore

struct KeepaliveTests {
    static let second: UInt64 = 1_000_000_000
    static let policy = Keepalive.Policy(pingAfterSeconds: 30, hangUpAfterSeconds: 70)

    @Test func aQuietPeerIsPingedOnceThenHungUp() {
        var k = Keepalive(policy: Self.policy, now: 5 * Self.second)
        #expect(k.due(at: 34 * Self.second) == nil)
        #expect(k.due(at: 35 * Self.second) == .ping)
        #expect(k.due(at: 36 * Self.second) == nil, "one ping per quiet spell")
        #expect(k.due(at: 74 * Self.second) == nil)
        #expect(k.due(at: 75 * Self.second) == .hangUp)
        #expect(k.due(at: 80 * Self.second) == .hangUp, "still due until the owner closes it")
        #expect(k.quiet(at: 80 * Self.second) == 75 * Self.second)
    }

    @Test func hearingAnythingStartsTheQuietSpellAgain() {
        var k = Keepalive(policy: Self.policy, now: 0)
        #expect(k.due(at: 30 * Self.second) == .ping)
        k.heard(at: 40 * Self.second)  // the pong
        #expect(k.due(at: 69 * Self.second) == nil)
        #expect(k.due(at: 70 * Self.second) == .ping, "pinged again in the next quiet spell")
        k.heard(at: 71 * Self.second)
        #expect(k.due(at: 140 * Self.second) == .ping)
        #expect(k.due(at: 141 * Self.second) == .hangUp)
    }

    @Test func aPeerThatKeepsTalkingIsNeverPinged() {
        var k = Keepalive(policy: Self.policy, now: 0)
        for t in stride(from: UInt64(0), through: 600, by: 10) {
            k.heard(at: t * Self.second)
            #expect(k.due(at: t * Self.second + 5 * Self.second) == nil)
        }
    }

    @Test func timesFromBeforeTheLastHeardDoNotGoBack() {
        var k = Keepalive(policy: Self.policy, now: 100 * Self.second)
        k.heard(at: 50 * Self.second)
        #expect(k.lastHeard == 100 * Self.second)
        #expect(k.quiet(at: 90 * Self.second) == 0)
        #expect(k.due(at: 90 * Self.second) == nil)
    }
}
