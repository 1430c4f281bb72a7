import Testing
import VigRelayCore

struct WebSocketUpgradeTests {
    func upgrade(connection: String? = "Upgrade", version: String? = "13", key: String? = "dGhlIHNhbXBsZSBub25jZQ==",
                 protocols: String? = "vigrelay.v1") -> WebSocketUpgrade {
        WebSocketUpgrade(connection: connection, version: version, key: key, protocols: protocols)
    }

    @Test func aWellFormedUpgradeIsLetThrough() {
        #expect(upgrade().refusal == nil)
        #expect(upgrade(connection: "keep-alive, Upgrade").refusal == nil, "Firefox")
        #expect(upgrade(connection: "upgrade", version: " 13 ", key: " dGhlIHNhbXBsZSBub25jZQ== ").refusal == nil)
        #expect(upgrade(protocols: "chat, vigrelay.v1").refusal == nil)
        #expect(upgrade(protocols: nil).refusal == nil, "no subprotocol: accepted, then closed 1002 with a reason")
    }

    @Test(arguments: [nil, "", "keep-alive", "upgrades"])
    func aConnectionHeaderWithoutUpgradeIs400(connection: String?) throws {
        let refusal = try #require(upgrade(connection: connection).refusal)
        #expect(refusal.status == 400)
        #expect(String(decoding: refusal.body, as: UTF8.self).contains("Connection: Upgrade"))
    }

    @Test(arguments: [nil, "8", "14", "13, 8", ""])
    func anotherVersionIs426NamingVersion13(version: String?) throws {
        let refusal = try #require(upgrade(version: version).refusal)
        #expect(refusal.status == 426 && refusal.headers["sec-websocket-version"] == "13")
        let body = try #require(jsonObject(refusal.body))
        #expect(body["code"] as? String == "invalid_request")
    }

    @Test(arguments: [nil, "", "c2hvcnQ=", "dGhlIHNhbXBsZSBub25jZQ", "not base64!", "dGhlIHNhbXBsZSBub25jZXM="])
    func aKeyThatIsNot16BytesInBase64Is400(key: String?) throws {
        let refusal = try #require(upgrade(key: key).refusal)
        #expect(refusal.status == 400)
        #expect(String(decoding: refusal.body, as: UTF8.self).contains("Sec-WebSocket-Key"))
    }

    @Test(arguments: ["chat", "", "vigrelay.v2", "Vigrelay.V1"])
    func onlyOtherSubprotocolsIs400(protocols: String) throws {
        let refusal = try #require(upgrade(protocols: protocols).refusal)
        #expect(refusal.status == 400)
        #expect(String(decoding: refusal.body, as: UTF8.self).contains("vigrelay.v1"))
    }
}
