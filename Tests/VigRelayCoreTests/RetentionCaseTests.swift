import Foundation
import Testing
import VigRelayCore

/// Which sessions retention counts together: a practitioner's caseRef.
struct RetentionCaseTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func session(_ id: String, _ owner: String?, _ caseRef: String?, _ at: Double?) -> RetentionCase.Session {
        .init(id: id, owner: owner, caseRef: caseRef, lastActiveAt: at.map { t0.addingTimeInterval($0) })
    }

    @Test func sessionsOfOneCaseShareTheirLastActivity() {
        let cases = RetentionCase.cases(of: [
            session("s3", "alice", "fam-1", 300), session("s1", "alice", "fam-1", 100), session("s2", "alice", "fam-1", nil),
        ])
        #expect(cases == [RetentionCase(sessionIDs: ["s1", "s2", "s3"], lastActiveAt: t0.addingTimeInterval(300))])
    }

    @Test func anotherPractitionersCaseRefOrNoneIsAnotherCase() {
        let cases = RetentionCase.cases(of: [
            session("a", "alice", "fam-1", 100), session("b", "bob", "fam-1", 200),
            session("c", "alice", nil, 300), session("d", "alice", nil, 400),
            // An unreadable record: its caseRef is unknown, so it is counted on its own.
            session("e", nil, nil, 500),
        ])
        #expect(cases == [
            RetentionCase(sessionIDs: ["a"], lastActiveAt: t0.addingTimeInterval(100)),
            RetentionCase(sessionIDs: ["b"], lastActiveAt: t0.addingTimeInterval(200)),
            RetentionCase(sessionIDs: ["c"], lastActiveAt: t0.addingTimeInterval(300)),
            RetentionCase(sessionIDs: ["d"], lastActiveAt: t0.addingTimeInterval(400)),
            RetentionCase(sessionIDs: ["e"], lastActiveAt: t0.addingTimeInterval(500)),
        ])
    }

    @Test func aCaseWithoutActivityHasNoLastActivity() {
        #expect(RetentionCase.cases(of: [session("a", "alice", "fam-1", nil)]) == [RetentionCase(sessionIDs: ["a"], lastActiveAt: nil)])
        #expect(RetentionCase.cases(of: []).isEmpty)
    }
}
