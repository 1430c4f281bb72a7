import Testing
import VigRelayCore

/// Joining, pairing notices, replacement, and the limits that close a connection.
struct RelayCoreJoinTests {
    let sid = Fixture.sessionID

    @Test(arguments: Role.allCases)
    func helloWelcomesEachRoleAlone(role: Role) throws {
        let h = RelayHarness()
        let actions = h.connect(1, first: RelayHarness.hello(RelayHarness.token(for: role)))
        let sent = actions.messages(to: 1)
        #expect(sent.count == 1)
        let welcome = try #require(jsonObject(sent[0].bytes))
        #expect(!sent[0].isBinary)
        #expect(welcome["type"] as? String == "welcome")
        #expect(welcome["role"] as? String == role.rawValue)
        #expect(welcome["sessionId"] as? String == sid)
        #expect(String(decoding: sent[0].bytes, as: UTF8.self).contains(#""peerPresent":false"#))
        #expect(welcome["id"] == nil)
        #expect(welcome["retentionSeconds"] as? Int == 60 * 86400, "the default retention")
        #expect(actions.closedConnections.isEmpty)
        #expect(actions.recipients == [1])
        #expect(actions.events == [SessionEvent(.joined, sessionID: sid, role: role, connection: 1)])
        #expect(h.core.connectionCount == 1)
    }

    @Test func welcomeSaysNothingOfRetentionWhenRecordingsAreKept() throws {
        var limits = RelayLimits()
        limits.retentionSeconds = nil
        let h = RelayHarness(limits: limits)
        let welcome = try #require(h.join(1, as: .family).controls(to: 1).first)
        #expect(welcome["type"] as? String == "welcome" && welcome["retentionSeconds"] == nil)
    }

    @Test(arguments: Role.allCases)
    func secondSideSeesThePeerAndTheFirstIsToldItJoined(first: Role) throws {
        let h = RelayHarness()
        h.join(1, as: first)
        let actions = h.join(2, as: first.peer)
        let welcome = try #require(actions.controls(to: 2).first)
        #expect(welcome["role"] as? String == first.peer.rawValue)
        #expect(text(of: actions.messages(to: 2).first).contains(#""peerPresent":true"#))
        #expect(actions.messages(to: 1) == [.text(utf8(#"{"event":"joined","role":"\#(first.peer.rawValue)","type":"peer"}"#))])
        #expect(actions.closedConnections.isEmpty)
        #expect(actions.events == [SessionEvent(.joined, sessionID: sid, role: first.peer, connection: 2),
                                   SessionEvent(.held, sessionID: sid, role: nil, connection: 2, at: Fixture.t0)],
                "both sides in: the session was held")
    }

    @Test(arguments: Role.allCases)
    func peerIsToldAtOnceWhenASideLeaves(leaving: Role) throws {
        let h = RelayHarness()
        h.join(1, as: leaving)
        h.join(2, as: leaving.peer)
        let actions = h.core.closed(1)
        #expect(actions.messages(to: 2) == [.text(utf8(#"{"event":"left","role":"\#(leaving.rawValue)","type":"peer"}"#))])
        #expect(actions.recipients == [2])
        #expect(actions.closedConnections.isEmpty, "the connection is already gone")
        #expect(actions.events == [SessionEvent(.left, sessionID: sid, role: leaving, connection: 1)])
        #expect(h.core.connectionCount == 1)

        let back = h.join(3, as: leaving)
        #expect(text(of: back.messages(to: 3).first).contains(#""peerPresent":true"#))
        #expect(back.controls(to: 2).first?["event"] as? String == "joined")
    }

    @Test func lastSideLeavingTellsNobody() {
        let h = RelayHarness()
        h.join(1, as: .family)
        let actions = h.core.closed(1)
        #expect(actions.recipients.isEmpty)
        #expect(actions.events == [SessionEvent(.left, sessionID: sid, role: .family, connection: 1)])
        #expect(h.core.connectionCount == 0)
    }

    @Test func closingBeforeHelloTellsNobody() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        #expect(h.core.opened(2, path: RelayHarness.path()).isEmpty)
        #expect(h.core.connectionCount == 2)
        #expect(h.core.closed(2).isEmpty)
        #expect(h.core.closed(99).isEmpty, "unknown connection")
        #expect(h.core.connectionCount == 1)
    }

    @Test(arguments: Role.allCases)
    func aNewConnectionOfTheSameRoleReplacesTheOld(role: Role) throws {
        let h = RelayHarness()
        h.join(1, as: role)
        h.join(2, as: role.peer)
        let actions = h.join(3, as: role)

        let toOld = actions.controls(to: 1)
        #expect(toOld.count == 1)
        #expect(toOld.first?["type"] as? String == "error")
        #expect(toOld.first?["code"] as? String == "replaced")
        #expect(actions.closeCodes(of: 1) == [RelayCloseCode.replaced])
        #expect(actions.closeCodes(of: 1) == [4001])
        #expect(actions.closedConnections == [1])
        #expect(actions.sendsNothingAfterClose)

        #expect(text(of: actions.messages(to: 3).first).contains(#""peerPresent":true"#))
        let toPeer = actions.controls(to: 2)
        #expect(toPeer.allSatisfy { $0["event"] as? String != "left" }, "the peer is never told the role left")
        #expect(toPeer.map { $0["event"] as? String } == ["joined"])
        #expect(actions.events.contains(SessionEvent(.replaced, sessionID: sid, role: role, connection: 1)))
        #expect(actions.events.contains(SessionEvent(.joined, sessionID: sid, role: role, connection: 3)))
        #expect(!actions.events.contains { $0.kind == .left })

        let signal = utf8(#"{"type":"signal","n":1}"#)
        #expect(h.core.receivedText(1, signal).isEmpty, "the replaced connection is ignored")
        #expect(h.core.closed(1).isEmpty, "its close tells the peer nothing")
        #expect(h.core.receivedText(2, signal) == [.send(3, .text(signal))])
        #expect(h.core.receivedText(3, signal) == [.send(2, .text(signal))])
        #expect(h.core.connectionCount == 2)
    }

    @Test func replacementWithoutAPeerTellsOnlyTheOld() {
        let h = RelayHarness()
        h.join(1, as: .family)
        let actions = h.join(2, as: .family)
        #expect(actions.recipients == [1, 2])
        #expect(actions.closeCodes(of: 1) == [4001])
        #expect(text(of: actions.messages(to: 2).first).contains(#""peerPresent":false"#))
    }

    @Test func helloTimeoutClosesWith1008() throws {
        let h = RelayHarness()
        #expect(h.core.opened(1, path: RelayHarness.path()).isEmpty)
        let actions = h.core.helloTimedOut(1)
        let error = try #require(actions.controls(to: 1).first)
        #expect(error["code"] as? String == "hello_timeout")
        #expect((error["message"] as? String)?.contains("5 s") == true)
        #expect(actions.closeCodes(of: 1) == [1008])
        #expect(actions.sendsNothingAfterClose)
        #expect(h.core.receivedText(1, RelayHarness.hello(Fixture.practitionerToken())).isEmpty, "a hello after the timeout is ignored")
        #expect(h.core.helloTimedOut(1).isEmpty, "a second timer does nothing")
    }

    @Test func helloTimerAfterJoiningDoesNothing() {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        #expect(h.core.helloTimedOut(1).isEmpty)
        #expect(h.core.helloTimedOut(42).isEmpty)
        let signal = utf8(#"{"type":"signal"}"#)
        #expect(h.core.receivedText(1, signal) == [.send(2, .text(signal))])
    }

    @Test func tooLargeBeforeHelloClosesWith1009() throws {
        let h = RelayHarness()
        _ = h.core.opened(1, path: RelayHarness.path())
        let actions = h.core.messageTooLarge(1)
        let error = try #require(actions.controls(to: 1).first)
        #expect(error["code"] as? String == "too_large")
        #expect((error["message"] as? String)?.contains("\(16 << 20)") == true)
        #expect(actions.closeCodes(of: 1) == [1009])
        #expect(actions.sendsNothingAfterClose)
    }

    @Test(arguments: Role.allCases)
    func tooLargeAfterJoiningClosesAndTellsThePeer(role: Role) {
        var limits = RelayLimits()
        limits.maxMessageBytes = 1000
        let h = RelayHarness(limits: limits)
        h.join(1, as: role)
        h.join(2, as: role.peer)
        let actions = h.core.messageTooLarge(1)
        #expect(actions.controls(to: 1).map { $0["code"] as? String } == ["too_large"])
        #expect((actions.controls(to: 1).first?["message"] as? String)?.contains("1000") == true)
        #expect(actions.closeCodes(of: 1) == [1009])
        #expect(actions.controls(to: 2).map { $0["event"] as? String } == ["left"])
        #expect(actions.sendsNothingAfterClose)
        #expect(h.core.closed(1).isEmpty, "the peer is told only once")
        #expect(h.core.messageTooLarge(77).isEmpty)
    }

    @Test func tooLargeOnAConnectionAlreadyClosingDoesNothing() {
        let h = RelayHarness()
        h.join(1, as: .family)
        h.join(2, as: .family)
        #expect(h.core.messageTooLarge(1).isEmpty, "replaced: already asked to close with 4001")
        h.join(3, as: .practitioner)
        _ = h.core.receivedText(3, utf8(#"{"type":"bye"}"#))
        #expect(h.core.messageTooLarge(3).isEmpty, "after bye: already asked to close with 1000")
        _ = h.core.opened(4, path: "/nowhere")
        #expect(h.core.messageTooLarge(4).isEmpty, "unknown path: already asked to close with 4404")
    }

    @Test func sessionsAddedLaterCanBeJoinedAndRemovedOnesCannot() throws {
        let h = RelayHarness()
        let newID = "abcdefabcdefabcdefabcdefabcdef00"
        let invite = Fixture.inviteToken(newID)
        let before = h.connect(1, session: newID, first: RelayHarness.hello(invite))
        #expect(before.controls(to: 1).first?["code"] as? String == "session_not_found")

        h.core.addSession(SessionRecord(id: newID, owner: "pr-1", createdAt: Fixture.t0, inviteExpiresAt: Fixture.t0))
        let joined = h.connect(2, session: newID, first: RelayHarness.hello(invite))
        #expect(joined.controls(to: 2).first?["type"] as? String == "welcome")
        #expect(joined.controls(to: 2).first?["sessionId"] as? String == newID)

        h.core.removeSession(id: newID)
        let after = h.connect(3, session: newID, first: RelayHarness.hello(invite))
        #expect(after.controls(to: 3).first?["code"] as? String == "session_not_found")
        #expect(after.closeCodes(of: 3) == [4404])
    }

    static let badPaths: [String] = {
        let id = Fixture.sessionID
        return ["", "/", "/ws", "/v1/sessions", "/v1/sessions/\(id)", "/v1/sessions/\(id)/ws/", "/v1/sessions/\(id)/ws/x",
                "/v1/sessions/\(id.uppercased())/ws", "/v1/sessions/\(id.dropLast())/ws", "/v1/sessions/\(id)0/ws",
                "/v1/session/\(id)/ws", "/v2/sessions/\(id)/ws", "v1/sessions/\(id)/ws", "//v1/sessions/\(id)/ws",
                "/v1/sessions/../ws", "/v1/sessions/%2e%2e/ws", "/V1/sessions/\(id)/ws"]
    }()

    @Test(arguments: badPaths)
    func otherPathsAreRefusedWith4404(path: String) throws {
        let h = RelayHarness()
        #expect(RelayCore.sessionID(fromWebSocketPath: path) == nil)
        let actions = h.core.opened(1, path: path)
        let error = try #require(actions.controls(to: 1).first)
        #expect(error["code"] as? String == "session_not_found")
        #expect((error["message"] as? String)?.contains("/v1/sessions/{sessionId}/ws") == true)
        #expect(actions.closeCodes(of: 1) == [4404])
        #expect(actions.sendsNothingAfterClose)
        #expect(h.core.receivedText(1, RelayHarness.hello(Fixture.practitionerToken())).isEmpty)
    }

    @Test func queryStringIsIgnored() {
        let h = RelayHarness()
        #expect(RelayCore.sessionID(fromWebSocketPath: "/v1/sessions/\(sid)/ws?x=1&y=/z") == sid)
        #expect(h.core.opened(1, path: "/v1/sessions/\(sid)/ws?x=1").isEmpty)
        let actions = h.core.receivedText(1, RelayHarness.hello(Fixture.practitionerToken()))
        #expect(actions.controls(to: 1).first?["type"] as? String == "welcome")
    }

    @Test func joinedCountsGiveEachRoleAndTheCalls() {
        let h = RelayHarness()
        #expect(h.core.joinedCounts.calls == 0 && h.core.joinedCounts.byRole.isEmpty)
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        _ = h.connect(3, session: Fixture.otherSessionID, first: RelayHarness.hello(Fixture.practitionerToken(Fixture.otherOwner)))
        _ = h.core.opened(4, path: RelayHarness.path())  // no hello yet: not joined
        var counts = h.core.joinedCounts
        #expect(counts.byRole == [.practitioner: 2, .family: 1])
        #expect(counts.calls == 1)
        _ = h.core.closed(2)
        counts = h.core.joinedCounts
        #expect(counts.byRole == [.practitioner: 2])
        #expect(counts.calls == 0)
    }
}
