import Foundation
import Testing
@testable import VigRelayClientKit

/// The `vigrelay-client sessions` table from a `GET /v1/sessions` answer.
struct SessionTableTests {
    static let answer = """
        {"sessions":[
         {"sessionId":"0123456789abcdef0123456789abcdef","createdAt":"2027-01-15T08:00:00.000Z","caseRef":"fam-042","cycle":2,"purpose":"review",
          "state":"live","connected":["family","practitioner"],"consent":"given","childAgreed":true,"recordingState":"recording",
          "recordingId":"00112233445566aa","awaiting":["family"],"recordingCount":2,"recordingBytes":1843200,"deletedRecordingCount":0,"clipCount":1},
         {"sessionId":"fedcba9876543210fedcba9876543210","createdAt":"2027-01-14T17:30:00.000Z","state":"ended","connected":[],
          "consent":"withdrawn","childAgreed":false,"recordingState":"idle","recordingCount":0,"recordingBytes":0,
          "deletedRecordingCount":3,"clipCount":0}],
         "total":7,"limit":2,"nextBefore":"fedcba9876543210fedcba9876543210"}
        """

    @Test func tableHasAHeaderALinePerSessionAndTheNextPage() throws {
        let table = try #require(SessionTable.render(Array(Self.answer.utf8)))
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("CREATED (UTC)     SESSION"))
        #expect(lines[1].hasPrefix("2027-01-15 08:00  0123456789abcdef0123456789abcdef  fam-042 c2 review  live (family+practitioner)  given+child"))
        #expect(lines[1].contains("recording (awaiting family)") && lines[1].contains("1.8 MB"))
        #expect(lines[2].contains("ended") && lines[2].contains("withdrawn") && lines[2].contains("0 (3 deleted)") && lines[2].contains(" - "))
        #expect(lines[3] == "2 of 7 sessions; next page: --before fedcba9876543210fedcba9876543210")
        // Columns line up: the SESSION and CONSENT columns start at the same place on every line.
        func column(_ line: String, _ text: String) -> Int? { line.range(of: text).map { line.distance(from: line.startIndex, to: $0.lowerBound) } }
        #expect(column(lines[0], "SESSION") == column(lines[1], "0123") && column(lines[1], "0123") == column(lines[2], "fedc"))
        #expect(column(lines[0], "CONSENT") == column(lines[1], "given") && column(lines[1], "given") == column(lines[2], "withdrawn"))
    }

    /// A session still to happen whose family link expired says so; an ended one does not.
    @Test func anExpiredLinkIsShownWhileTheFamilyIsAwaited() throws {
        func state(_ state: String, connected: [String] = [], expires: String = "2027-01-22T08:00:00.000Z") throws -> String {
            let json = #"{"sessions":[{"sessionId":"0123456789abcdef0123456789abcdef","createdAt":"2027-01-15T08:00:00.000Z","#
                + #""inviteExpiresAt":"\#(expires)","state":"\#(state)","connected":\#(connected),"consent":"none","#
                + #""recordingState":"idle","recordingCount":0,"recordingBytes":0,"clipCount":0}],"total":1,"limit":50}"#
            let now = Date(timeIntervalSince1970: 1_800_000_000 + 8 * 86_400)  // 2027-01-23T08:00:00Z
            return try #require(SessionTable.render(Array(json.utf8), now: now)?.split(separator: "\n")[1]).description
        }
        #expect(try state("new").contains("new, link expired"))
        #expect(try state("live", connected: ["practitioner"]).contains("live (practitioner), link expired"))
        #expect(try !state("live", connected: ["family"]).contains("expired"))
        #expect(try !state("ended").contains("expired"))
        #expect(try !state("new", expires: "2027-01-24T08:00:00.000Z").contains("expired"), "not expired yet")
    }

    /// A family turned away on an old link within the hour is shown, with the reason and the time (UTC).
    @Test func aFamilyTurnedAwayOnAnOldLinkIsShown() throws {
        func state(_ refusal: String) throws -> String {
            let json = #"{"sessions":[{"sessionId":"0123456789abcdef0123456789abcdef","createdAt":"2027-01-15T08:00:00.000Z","#
                + #""inviteExpiresAt":"2027-01-22T08:00:00.000Z","state":"new","connected":[],"consent":"none","#
                + #""recordingState":"idle","recordingCount":0,"recordingBytes":0,"clipCount":0\#(refusal)}],"total":1,"limit":50}"#
            return try #require(SessionTable.render(Array(json.utf8), now: Date(timeIntervalSince1970: 1_800_000_000))?.split(separator: "\n")[1]).description
        }
        #expect(try state(#","familyLinkRefused":"replaced","familyLinkRefusedAt":"2027-01-15T08:42:10.000Z""#)
            .contains("new, family tried an older link at 08:42"))
        #expect(try state(#","familyLinkRefused":"expired","familyLinkRefusedAt":"2027-01-15T09:05:00.000Z""#)
            .contains("new, family tried an expired link at 09:05"))
        #expect(try !state("").contains("family tried"))
    }

    @Test func emptyListAndNotAList() {
        #expect(SessionTable.render(Array(#"{"sessions":[],"total":0,"limit":50}"#.utf8))?.hasSuffix("\nno sessions") == true)
        #expect(SessionTable.render(Array(#"{"type":"error"}"#.utf8)) == nil)
        #expect(SessionTable.render(Array("not json".utf8)) == nil)
    }

    @Test(arguments: [(0, "0 B"), (999, "999 B"), (1000, "1.0 KB"), (1_843_200, "1.8 MB"), (12_345_678, "12 MB"), (2_000_000_000, "2.0 GB")])
    func byteCounts(bytes: Int64, text: String) {
        #expect(SessionTable.byteCount(bytes) == text)
    }
}
