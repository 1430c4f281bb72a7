import Foundation
import Testing
import VigRelayCore

struct JSONValueTests {
    private func text(_ any: Any) -> String? {
        JSONValue(any).map { String(decoding: $0.utf8, as: UTF8.self) }
    }

    @Test func writesSwiftValuesWithKeysInCodePointOrderAndSlashesUnescaped() {
        let object: [String: Any] = [
            "type": "welcome", "b": 2, "aB": true, "a_b": 1.5, "path": "/v1/sessions",
            "list": ["x", 3, false], "nested": ["z": NSNull(), "y": Int64(-7)],
        ]
        #expect(text(object) == #"{"aB":true,"a_b":1.5,"b":2,"list":["x",3,false],"nested":{"y":-7,"z":null},"path":"/v1/sessions","type":"welcome"}"#)
    }

    @Test func escapesWhatJSONRequires() {
        #expect(text("quote \" backslash \\ control \u{1} é") == #""quote \" backslash \\ control \u0001 é""#)
    }

    @Test func keepsFoundationBooleansAndNumbersAsTheyWereRead() throws {
        let read = try JSONSerialization.jsonObject(with: Data(#"{"t":true,"f":false,"i":2,"d":2.5,"big":9007199254740993,"n":null}"#.utf8))
        #expect(text(read) == #"{"big":9007199254740993,"d":2.5,"f":false,"i":2,"n":null,"t":true}"#)
    }

    @Test func everyIntegerWidthIsANumber() {
        let values: [Any] = [Int8(-8), Int16(-16), Int32(-32), Int64(-64), -1, UInt8(8), UInt16(16), UInt32(32), UInt64(64), UInt(1)]
        #expect(text(values) == "[-8,-16,-32,-64,-1,8,16,32,64,1]")
        #expect(JSONValue(UInt64.max) == nil, "past Int64 is refused, not wrapped")
    }

    @Test func integralDoublesAreWrittenWithoutAFraction() {
        #expect(text([5.0, 0.1, 1e21]) == "[5,0.1,1e+21]")
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func refusesNumbersThatAreNotFinite(value: Double) {
        #expect(JSONValue(value) == nil)
        #expect(JSONValue(["ok": 1, "bad": value]) == nil)
    }

    @Test func refusesValuesThatAreNotJSON() {
        #expect(JSONValue(Date()) == nil)
        #expect(JSONValue(["when": Date()]) == nil)
        #expect(JSONValue([1, Data()]) == nil)
        #expect(JSONValue([1: "integer key"]) == nil)
    }

    @Test func controlMessagesCarryTheRequestID() {
        let bytes = ControlEncoder.encode(["type": "pong"], id: .number(7))
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"id":7,"type":"pong"}"#)
        let named = ControlEncoder.encode(["type": "pong"], id: .string("a/1"))
        #expect(String(decoding: named, as: UTF8.self) == #"{"id":"a/1","type":"pong"}"#)
    }
}
