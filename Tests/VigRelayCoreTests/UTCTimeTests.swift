import Foundation
import Testing
import VigRelayCore

/// Times as the relay writes them (UTCTime.swift): one text per millisecond, whether the moment is
/// still in memory or was read back from a log.
struct UTCTimeTests {
    @Test func aTimeReadBackFromTheLogPrintsAsItWasWritten() throws {
        // The held time of a CI run: in memory .981..., written ".981", read back as .98099999...,
        // which Foundation's own formatter printed ".980".
        let inMemory = Date(timeIntervalSince1970: 1_795_574_493.981_234)
        let written = UTCTime.format(inMemory)
        #expect(written == "2026-11-25T02:41:33.981Z")
        let readBack = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(written)
        #expect(UTCTime.format(readBack) == written)
    }

    @Test func everyMillisecondSurvivesTheRoundTrip() throws {
        let parser = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let base = 1_795_574_493.0
        for ms in 0..<1000 {
            for offset in [0.0, 0.000_4, -0.000_4] {
                let date = Date(timeIntervalSince1970: base + Double(ms) / 1000 + offset)
                let text = UTCTime.format(date)
                #expect(text.hasSuffix(String(format: ".%03dZ", ms)), "\(ms) ms \(offset): \(text)")
                #expect(UTCTime.format(try parser.parse(text)) == text)
            }
        }
    }

    @Test func wholeSecondsAndRoundingUpAcrossASecond() {
        #expect(UTCTime.format(Date(timeIntervalSince1970: 1_800_000_000)) == "2027-01-15T08:00:00.000Z")
        #expect(UTCTime.format(Date(timeIntervalSince1970: 1_800_000_000.999_7)) == "2027-01-15T08:00:01.000Z")
        #expect(UTCTime.format(Date(timeIntervalSince1970: 1_800_000_000.05)) == "2027-01-15T08:00:00.050Z")
    }
}
