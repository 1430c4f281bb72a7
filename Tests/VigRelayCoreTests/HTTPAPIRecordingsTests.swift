import Foundation
import Testing
import VigRelayCore

/// The recording endpoints' routing, authorization and checks (HTTPAPI+Recordings.swift): what the
/// API decides before any file is touched.
struct HTTPAPIRecordingsTests {
    let sid = Fixture.sessionID
    let rid = "00112233445566aa"
    let cid = "8899aabbccddeeff"
    let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443")

    func request(_ method: String, _ path: String, token: String? = Fixture.practitionerToken(), body: String = "",
                 query: [String] = [], range: String? = nil) -> HTTPRequest {
        HTTPRequest(method: method, path: path, authorization: token.map { "Bearer \($0)" }, body: utf8(body), query: query, range: range)
    }

    func handle(_ request: HTTPRequest, _ harness: RelayHarness = RelayHarness()) -> HTTPOutcome {
        api.handle(request, core: harness.core, now: Fixture.t0)
    }

    /// The response of a `.respond` outcome, decoded; nil (recorded) for any other outcome.
    func refusal(_ outcome: HTTPOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (status: Int, code: String, message: String)? {
        guard case .respond(let r) = outcome, let body = jsonObject(r.body) else {
            Issue.record("expected an error response, got \(outcome)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(body["type"] as? String == "error", sourceLocation: sourceLocation)
        return (r.status, body["code"] as? String ?? "", body["message"] as? String ?? "")
    }

    var endpoints: [(String, String)] {
        [("GET", "/v1/sessions/\(sid)"), ("HEAD", "/v1/sessions/\(sid)"), ("GET", "/v1/sessions/\(sid)/recordings/\(rid)"),
         ("POST", "/v1/sessions/\(sid)/clips"), ("GET", "/v1/sessions/\(sid)/clips/\(cid)"), ("DELETE", "/v1/sessions/\(sid)/recordings"),
         ("POST", "/v1/sessions/\(sid)/invite"), ("PATCH", "/v1/sessions/\(sid)"), ("PATCH", "/v1/sessions/\(sid)/clips/\(cid)")]
    }

    // MARK: who may

    @Test func theSessionsPractitionerGetsEachOutcome() throws {
        let h = RelayHarness()
        let session = try #require(h.core.sessions[sid])
        // Downloads carry who asked and the token's issue time, which a revocation compares.
        let issued = Fixture.t0.addingTimeInterval(-60)
        let token = Fixture.authority.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: issued)
        let grant = DownloadGrant(practitionerID: Fixture.owner, tokenIssuedAtMs: TokenAuthority.milliseconds(issued))
        #expect(handle(request("GET", "/v1/sessions/\(sid)"), h) == .sessionSummary(session))
        #expect(handle(request("HEAD", "/v1/sessions/\(sid)"), h) == .sessionSummary(session))
        #expect(handle(request("GET", "/v1/sessions/\(sid)/recordings/\(rid)", token: token, range: "bytes=0-9"), h)
                == .media(MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 1), range: "bytes=0-9"), grant: grant))
        #expect(handle(request("HEAD", "/v1/sessions/\(sid)/recordings/\(rid)", token: token, query: ["part=2"]), h)
                == .media(MediaRequest(sessionID: sid, resource: .recording(id: rid, part: 2), headOnly: true), grant: grant))
        #expect(handle(request("GET", "/v1/sessions/\(sid)/clips/\(cid)", token: token), h)
                == .media(MediaRequest(sessionID: sid, resource: .clip(id: cid)), grant: grant))
        let withoutIssueTime = signedWithTheRelaysSecret(#"{"v":1,"exp":1800003600,"kind":"practitioner","sub":"pr-1"}"#)
        #expect(handle(request("GET", "/v1/sessions/\(sid)/clips/\(cid)", token: withoutIssueTime), h)
                == .media(MediaRequest(sessionID: sid, resource: .clip(id: cid)), grant: DownloadGrant(practitionerID: Fixture.owner, tokenIssuedAtMs: nil)))
        #expect(handle(request("DELETE", "/v1/sessions/\(sid)/recordings"), h) == .deleteRecordings(sessionID: sid))
        #expect(handle(request("POST", "/v1/sessions/\(sid)/clips", body: "{\"recordingId\":\"\(rid)\",\"fromMs\":3000,\"toMs\":10000,\"note\":\"smile\"}"), h)
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 3000, toMs: 10000, note: "smile")))
    }

    /// `POST .../withdrawal` is the family's: its invite, also expired (a family may withdraw at any
    /// time); not a practitioner, not another session's invite, not a forged one, and only POST.
    @Test func theFamilyWithdrawsWithItsInviteEvenExpired() {
        let h = RelayHarness()
        let path = "/v1/sessions/\(sid)/withdrawal"
        #expect(handle(request("POST", path, token: Fixture.inviteToken()), h) == .withdraw(sessionID: sid))
        let expired = Fixture.inviteToken(expiresAt: Fixture.t0.addingTimeInterval(-86_400 * 365))
        #expect(handle(request("POST", path, token: expired), h) == .withdraw(sessionID: sid))
        let practitioner = refusal(handle(request("POST", path), h))
        #expect(practitioner?.status == 403 && practitioner?.code == "forbidden" && practitioner?.message.contains("DELETE") == true)
        let other = refusal(handle(request("POST", path, token: Fixture.inviteToken(Fixture.otherSessionID)), h))
        #expect(other?.status == 404 && other?.code == "session_not_found")
        let missing = refusal(handle(request("POST", path, token: nil), h))
        #expect(missing?.status == 401 && missing?.message.contains("invite") == true)
        #expect(refusal(handle(request("POST", path, token: Fixture.inviteToken() + "x"), h))?.status == 401)
        #expect(refusal(handle(request("GET", path, token: Fixture.inviteToken()), h))?.status == 405)
        // Elsewhere an expired invite is refused as before.
        #expect(throws: TokenAuthority.VerifyError.expired) { try Fixture.authority.verify(expired, now: Fixture.t0, revocations: TokenRevocations()) }
        let expiredPractitioner = Fixture.practitionerToken(expiresAt: Fixture.t0.addingTimeInterval(-1))
        #expect(throws: TokenAuthority.VerifyError.expired) {
            try Fixture.authority.verify(expiredPractitioner, now: Fixture.t0, revocations: TokenRevocations(), inviteMayBeExpired: true)
        }
    }

    /// `PATCH .../clips/{clipId}` gives a clip a new note: only `{"note":"..."}`, as long as a clip's
    /// note may be; not the supervisor's to change.
    @Test func aClipsNoteIsChangedWithPatch() throws {
        let path = "/v1/sessions/\(sid)/clips/\(cid)"
        #expect(handle(request("PATCH", path, body: #"{"note":"she waits, then takes her turn"}"#))
                == .changeClipNote(sessionID: sid, clipID: cid, note: "she waits, then takes her turn"))
        #expect(handle(request("PATCH", path, body: #"{"note":""}"#)) == .changeClipNote(sessionID: sid, clipID: cid, note: ""))
        let long = String(repeating: "é", count: ClipRequest.maxNoteLength + 1)
        for bad in ["", "[]", #"{"note":7}"#, #"{"note":"x","fromMs":1}"#, #"{"note":"\#(long)"}"#] {
            let r = refusal(handle(request("PATCH", path, body: bad)))
            #expect(r?.status == 400 && r?.code == "invalid_request", "\(bad.prefix(40))")
        }
        #expect(refusal(handle(request("PATCH", "/v1/sessions/\(sid)/clips/XYZ", body: #"{"note":""}"#)))?.code == "clip_not_found")
        #expect(refusal(handle(request("PUT", path, body: #"{"note":""}"#)))?.status == 405)
        let h = RelayHarness()
        var record = try #require(h.core.sessions[sid])
        record.supervisor = "sup-1"
        _ = h.core.sessionRecordSaved(record)
        let r = refusal(handle(request("PATCH", path, token: Fixture.practitionerToken("sup-1"), body: #"{"note":"x"}"#), h))
        #expect(r?.status == 403 && r?.code == "forbidden")
    }

    @Test func aFamilyInviteIs403OnEveryEndpoint() {
        for (method, path) in endpoints {
            for invite in [Fixture.inviteToken(), Fixture.inviteToken(Fixture.otherSessionID)] {
                let r = refusal(handle(request(method, path, token: invite)))
                #expect(r?.status == 403 && r?.code == "forbidden", "\(method) \(path)")
            }
        }
    }

    @Test func anotherPractitionerGetsTheSameAnswerAsForAnUnknownSession() {
        for (method, path) in endpoints {
            let other = refusal(handle(request(method, path, token: Fixture.practitionerToken(Fixture.otherOwner))))
            let unknown = refusal(handle(request(method, path.replacingOccurrences(of: sid, with: Fixture.unknownSessionID))))
            #expect(other?.status == 404 && other?.code == "session_not_found", "\(method) \(path)")
            #expect(other?.message == unknown?.message && other?.code == unknown?.code)
            #expect(other?.message.contains(rid) == false && other?.message.contains(sid) == false)
        }
    }

    @Test(arguments: ["0123456789ABCDEF0123456789abcdef", "0123456789abcdef", "..", "0123456789abcdef0123456789abcdeg"])
    func anInvalidSessionIDIs404(bad: String) {
        let r = refusal(handle(request("GET", "/v1/sessions/\(bad)")))
        #expect(r?.status == 404 && r?.code == "session_not_found")
    }

    @Test func noBadForgedOrExpiredTokenIs401() {
        let tokens: [String?] = [nil, "not-a-token", Fixture.forger.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(60))),
                                 Fixture.practitionerToken(expiresAt: Fixture.t0.addingTimeInterval(-1))]
        for (method, path) in endpoints {
            for token in tokens {
                let r = refusal(handle(request(method, path, token: token)))
                #expect(r?.status == 401 && r?.code == "unauthorized", "\(method) \(path)")
            }
        }
    }

    // MARK: routes and methods

    @Test func wrongMethodsAre405AndNameTheRightOne() {
        let cases: [(String, String, String)] = [
            ("POST", "/v1/sessions/\(sid)", "GET"), ("DELETE", "/v1/sessions/\(sid)", "GET"),
            ("GET", "/v1/sessions/\(sid)/recordings", "DELETE"), ("POST", "/v1/sessions/\(sid)/recordings", "DELETE"),
            ("DELETE", "/v1/sessions/\(sid)/recordings/\(rid)", "GET"), ("GET", "/v1/sessions/\(sid)/clips", "POST"),
            ("PUT", "/v1/sessions/\(sid)/clips/\(cid)", "GET"), ("PUT", "/v1/sessions/\(sid)/invite", "GET or HEAD or POST"),
        ]
        for (method, path, allowed) in cases {
            let r = refusal(handle(request(method, path)))
            #expect(r?.status == 405 && r?.code == "method_not_allowed", "\(method) \(path)")
            #expect(r?.message.contains(allowed) == true)
        }
    }

    // MARK: ids and parts

    @Test(arguments: ["0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "..", "..%2f..%2fx", "0123456789abcdeg", ""])
    func anInvalidRecordingOrClipIDIs404(bad: String) {
        let recording = refusal(handle(request("GET", "/v1/sessions/\(sid)/recordings/\(bad)")))
        #expect(recording?.status == 404 && recording?.code == "recording_not_found")
        let clip = refusal(handle(request("GET", "/v1/sessions/\(sid)/clips/\(bad)")))
        #expect(clip?.status == 404 && clip?.code == "clip_not_found")
    }

    @Test func partsAreOneToNineHundredNinetyNine() {
        #expect(HTTPAPI.part([]) == 1)
        #expect(HTTPAPI.part(["x=1"]) == 1)
        #expect(HTTPAPI.part(["part=1"]) == 1)
        #expect(HTTPAPI.part(["x=1", "part=42"]) == 42)
        #expect(HTTPAPI.part(["part=999"]) == 999)
        for bad in ["part=0", "part=1000", "part=", "part=-1", "part=+1", "part=1.0", "part=0001", "part= 1", "part=abc", "part=١"] {
            #expect(HTTPAPI.part([bad]) == nil, "\(bad)")
        }
        #expect(HTTPAPI.part(["part=1", "part=1"]) == nil, "one part only")
        let r = refusal(handle(request("GET", "/v1/sessions/\(sid)/recordings/\(rid)", query: ["part=1000"])))
        #expect(r?.status == 404 && r?.code == "recording_not_found")
    }

    /// `?fromMs=N&toMs=M` asks for an excerpt of the recording: both, once each, whole ms, no part.
    @Test func anExcerptIsAskedForByItsSpan() throws {
        let h = RelayHarness()
        let path = "/v1/sessions/\(sid)/recordings/\(rid)"
        let token = Fixture.authority.sign(.practitioner(id: Fixture.owner, expiresAt: Fixture.t0.addingTimeInterval(3600)), issuedAt: Fixture.t0)
        let grant = DownloadGrant(practitionerID: Fixture.owner, tokenIssuedAtMs: TokenAuthority.milliseconds(Fixture.t0))
        #expect(handle(request("GET", path, token: token, query: ["fromMs=60000", "toMs=120000"]), h)
                == .media(MediaRequest(sessionID: sid, resource: .excerpt(recordingID: rid, fromMs: 60_000, toMs: 120_000)), grant: grant))
        #expect(handle(request("GET", path, token: token, query: ["toMs=5", "x=1", "fromMs=0"], range: "bytes=10-"), h)
                == .media(MediaRequest(sessionID: sid, resource: .excerpt(recordingID: rid, fromMs: 0, toMs: 5), range: "bytes=10-"), grant: grant))
        for bad: [String] in [["fromMs=0"], ["toMs=1000"], ["fromMs=0", "toMs=1000", "part=1"], ["fromMs=0", "fromMs=0", "toMs=1"],
                              ["fromMs=-1", "toMs=1000"], ["fromMs=1.5", "toMs=1000"], ["fromMs=", "toMs=1000"], ["fromMs=0", "toMs=12345678901"]] {
            let r = refusal(handle(request("GET", path, query: bad), h))
            #expect(r?.status == 400 && r?.code == "invalid_request" && r?.message.contains("?fromMs=60000&toMs=120000") == true, "\(bad)")
        }
        let long = refusal(handle(request("GET", path, query: ["fromMs=1000", "toMs=61001"]), h))
        #expect(long?.status == 400 && long?.message.hasPrefix("an excerpt is at most 60 s (fromMs 1000, toMs 61001)") == true, "\(String(describing: long))")
    }

    // MARK: clips

    func postClip(_ body: String, _ harness: RelayHarness = RelayHarness()) -> HTTPOutcome {
        handle(request("POST", "/v1/sessions/\(sid)/clips", body: body), harness)
    }

    @Test func aClipRequestKeepsItsFieldsAndNote() {
        #expect(postClip("{\"recordingId\":\"\(rid)\",\"fromMs\":0,\"toMs\":1}")
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 0, toMs: 1)))
        let note = String(repeating: "é", count: ClipRequest.maxNoteLength)
        #expect(postClip("{\"recordingId\":\"\(rid)\",\"fromMs\":1,\"toMs\":2,\"note\":\"\(note)\",\"extra\":true}")
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1, toMs: 2, note: note)))
        #expect(postClip("{\"recordingId\":\"\(rid)\",\"fromMs\":1,\"toMs\":2,\"note\":null}")
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 1, toMs: 2)))
    }

    @Test func negativeOrReversedSpansAreLeftToTheClipPlan() {
        // Types are checked here; the span against the recording (ClipPlan) where the index is.
        #expect(postClip("{\"recordingId\":\"\(rid)\",\"fromMs\":-5,\"toMs\":-10}")
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: -5, toMs: -10)))
    }

    @Test func malformedClipRequestsAre400AndSayWhatToSend() {
        let cases: [(String, String)] = [
            ("", "JSON object"), ("nope", "JSON object"), ("[]", "JSON object"), ("\"x\"", "JSON object"),
            ("{\"fromMs\":0,\"toMs\":1}", "recordingId"), ("{\"recordingId\":5,\"fromMs\":0,\"toMs\":1}", "recordingId"),
            ("{\"recordingId\":\"\(rid)\",\"toMs\":1}", "fromMs"), ("{\"recordingId\":\"\(rid)\",\"fromMs\":0}", "toMs"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":\"0\",\"toMs\":1}", "fromMs"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":0.5,\"toMs\":1}", "fromMs"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":true,\"toMs\":1}", "fromMs"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":1e300,\"toMs\":1}", "fromMs"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":0,\"toMs\":1,\"note\":7}", "note"),
            ("{\"recordingId\":\"\(rid)\",\"fromMs\":0,\"toMs\":1,\"note\":\"\(String(repeating: "a", count: 501))\"}", "500"),
        ]
        for (body, words) in cases {
            let r = refusal(postClip(body))
            #expect(r?.status == 400 && r?.code == "invalid_request", "\(body)")
            #expect(r?.message.contains(words) == true, "\(body): \(r?.message ?? "")")
        }
    }

    @Test func aClipOfAnInvalidRecordingIDIs404() {
        let r = refusal(postClip(#"{"recordingId":"../../etc/passwd","fromMs":0,"toMs":1}"#))
        #expect(r?.status == 404 && r?.code == "recording_not_found")
    }

    /// A harness where the practitioner (1) records with the family's (2) consent; the running id.
    func recording() throws -> (RelayHarness, String) {
        let h = RelayHarness()
        h.join(1, as: .practitioner)
        h.join(2, as: .family)
        _ = h.core.receivedText(2, utf8(#"{"type":"consent","recording":true}"#))
        let started = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        let id = try #require(started.controls(to: 1).first?["recordingId"] as? String)
        #expect(h.core.activeRecordingID(sessionID: sid) == id)
        return (h, id)
    }

    @Test func aClipOfTheRunningRecordingIs409() throws {
        let (h, running) = try recording()
        let r = refusal(postClip("{\"recordingId\":\"\(running)\",\"fromMs\":0,\"toMs\":1000}", h))
        #expect(r?.status == 409 && r?.code == "recording_in_progress")
        #expect(r?.message.contains("stop the recording first") == true)
        // Another recording of the session is not blocked by the running one.
        #expect(postClip("{\"recordingId\":\"\(rid)\",\"fromMs\":0,\"toMs\":1000}", h)
                == .createClip(ClipRequest(sessionID: sid, recordingID: rid, fromMs: 0, toMs: 1000)))
    }

    @Test func aClipBodyOverTheLimitIs413() {
        var limits = RelayLimits()
        limits.maxRequestBodyBytes = 10
        let small = HTTPAPI(authority: Fixture.authority, limits: limits, publicURL: "https://x")
        let outcome = small.handle(request("POST", "/v1/sessions/\(sid)/clips", body: "{\"recordingId\":\"\(rid)\"}"),
                                   core: RelayHarness().core, now: Fixture.t0)
        #expect(refusal(outcome)?.status == 413)
    }

    // MARK: deletion in the core

    @Test func deletionOnRequestStopsTheRecordingAndKeepsConsent() throws {
        let (h, deleted) = try recording()

        let actions = h.core.recordingsDeletionRequested(sessionID: sid, requester: 99)
        #expect(actions == [.recording(.deleteAllOnRequest(sessionID: sid, requester: 99))])
        #expect(h.core.activeRecordingID(sessionID: sid) == nil, "no more camera bytes go to the deleted recording")
        let camera = MediaFrameHeader(stream: .camera, flags: .initSegment, sequence: 0, mediaTimeMicros: 0).bytes + [1, 2]
        #expect(!h.core.receivedBinary(2, camera).contains { if case .recording(.append) = $0 { true } else { false } })
        let mark = h.core.receivedText(1, utf8("{\"type\":\"mark\",\"recordingId\":\"\(deleted)\",\"atMs\":5}"))
        #expect(mark.controls(to: 1).first?["code"] as? String == "recording_not_found", "a deleted recording cannot be marked")
        let again = h.core.receivedText(1, utf8(#"{"type":"record","action":"start"}"#))
        #expect(again.controls(to: 1).first?["state"] as? String == "started", "consent still stands")
    }

    @Test func deletionOnRequestOfASessionThatNeverRecordedStillDeletes() {
        let h = RelayHarness()
        #expect(h.core.recordingsDeletionRequested(sessionID: sid, requester: 7) == [.recording(.deleteAllOnRequest(sessionID: sid, requester: 7))])
    }
}
