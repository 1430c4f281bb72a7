import Foundation
import Testing
import VigRelayCore
import VigRelayStorage

/// `DATA/revoked-tokens.json`: written by `vigrelay token revoke`, read at start and on change.
struct TokenRevocationFileTests {
    @Test func noFileMeansNothingRevoked() throws {
        let tmp = try TempDirectory()
        #expect(try TokenRevocationFile.read(dataDir: tmp.path) == TokenRevocations())
        #expect(TokenRevocationFile.signature(dataDir: tmp.path) == nil)
    }

    @Test func revocationsAddUpAndReadBack() throws {
        let tmp = try TempDirectory()
        let dataDir = tmp.path + "/new"
        try TokenRevocationFile.revoke(.practitioner, id: "alice", issuedBeforeMs: 1_000, dataDir: dataDir)
        let first = TokenRevocationFile.signature(dataDir: dataDir)
        let all = try TokenRevocationFile.revoke(.metrics, id: "prometheus", issuedBeforeMs: 2_000, dataDir: dataDir)
        #expect(all.entries == [.init(kind: .metrics, id: "prometheus", issuedBeforeMs: 2_000),
                                .init(kind: .practitioner, id: "alice", issuedBeforeMs: 1_000)])
        #expect(try TokenRevocationFile.read(dataDir: dataDir) == all)
        #expect(first != nil && TokenRevocationFile.signature(dataDir: dataDir) != first, "a rewrite changes the signature")
        var info = stat()
        #expect(stat(TokenRevocationFile.path(dataDir: dataDir), &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test(arguments: ["", "{}", "[]", #"{"v":2,"entries":[]}"#,
                      #"{"v":1,"entries":[{"kind":"admin","id":"a","issuedBeforeMs":1}]}"#,
                      #"{"v":1,"entries":[{"kind":"practitioner","id":"../x","issuedBeforeMs":1}]}"#,
                      #"{"v":1,"entries":[{"kind":"practitioner","id":"a","issuedBeforeMs":"soon"}]}"#])
    func aFileThatIsNoRevocationListIsAnErrorNotAnEmptyList(text: String) throws {
        let tmp = try TempDirectory()
        try Data(text.utf8).write(to: URL(fileURLWithPath: TokenRevocationFile.path(dataDir: tmp.path)))
        #expect(throws: StorageError.self) { try TokenRevocationFile.read(dataDir: tmp.path) }
        #expect(throws: StorageError.self) { try TokenRevocationFile.revoke(.practitioner, id: "a", issuedBeforeMs: 1, dataDir: tmp.path) }
        #expect(try String(contentsOfFile: TokenRevocationFile.path(dataDir: tmp.path), encoding: .utf8) == text, "left as it was")
    }
}
