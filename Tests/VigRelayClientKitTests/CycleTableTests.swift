import Foundation
import Testing
import VigRelayClientKit

/// The `vigrelay-client cycles` table.
struct CycleTableTests {
    @Test func eachCycleWithWhatIsLeftThenTheTotals() throws {
        let json = """
        {"cases":[{"caseRef":"fam-a","cycles":[{"cycle":1,"complete":true,"filmedAt":"2027-01-15T08:03:10.512Z","reviewedAt":"2027-01-22T10:00:00.000Z"},
        {"cycle":2,"complete":false,"filmedAt":"2027-02-01T09:30:00.000Z"}]},
        {"caseRef":"fam-b","cycles":[{"cycle":1,"complete":false},{"cycle":2,"complete":false,"reviewedAt":"2027-03-01T09:30:00.000Z"}]}],
        "completedCycles":1,"familiesWithCompletedCycles":1,"heldWithoutLabels":2}
        """
        let table = try #require(CycleTable.render(Array(json.utf8)))
        #expect(table == """
        CASE   CYCLE  FILMING (UTC)     REVIEW (UTC)      STATUS
        fam-a  1      2027-01-15 08:03  2027-01-22 10:00  complete
        fam-a  2      2027-02-01 09:30  -                 review to do
        fam-b  1      -                 -                 not held yet
        fam-b  2      -                 2027-03-01 09:30  filming not held
        1 complete cycle (filming and review held) with 1 family
        2 held sessions have no case, cycle or purpose, so they are in no cycle: label them with 'vigrelay-client label' (see 'sessions')
        """)
    }

    @Test func anEmptyLogSaysHowToStartOne() throws {
        let table = try #require(CycleTable.render(Array(#"{"cases":[],"completedCycles":0,"familiesWithCompletedCycles":0,"heldWithoutLabels":0}"#.utf8)))
        #expect(table == "no cycles: create sessions with --case-ref, --cycle and --purpose\n0 complete cycles (filming and review held) with 0 families")
    }

    /// A supervisor's view of a trainee's log says whose it is when empty, and that the trainee (not
    /// the supervisor) labels their sessions.
    @Test func aTraineesLogReadByTheirSupervisor() throws {
        let empty = try #require(CycleTable.render(Array(#"{"cases":[],"completedCycles":0,"familiesWithCompletedCycles":0,"heldWithoutLabels":2}"#.utf8),
                                                   trainee: "trainee-1"))
        #expect(empty == """
            no cycles: no held session of trainee-1 with a case, cycle and purpose names you as supervisor
            0 complete cycles (filming and review held) with 0 families
            2 held sessions have no case, cycle or purpose, so they are in no cycle: trainee-1 can label them
            """)
    }

    @Test func anythingElseIsNotACycleLog() {
        #expect(CycleTable.render(Array(#"{"sessions":[]}"#.utf8)) == nil)
        #expect(CycleTable.render(Array("not json".utf8)) == nil)
    }
}
