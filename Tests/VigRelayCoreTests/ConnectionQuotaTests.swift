import Testing
import VigRelayCore

struct ConnectionQuotaTests {
    let home = PeerAddress(bytes: [192, 0, 2, 7])!
    let office = PeerAddress(bytes: [198, 51, 100, 1])!

    @Test func connectionsUpToTheLimitAreAdmittedAndTheNextAreNot() {
        var quota = ConnectionQuota(limit: 2)
        #expect(quota.opened(home, nowSeconds: 0) == .admitted)
        #expect(quota.opened(home, nowSeconds: 0) == .admitted)
        #expect(quota.opened(home, nowSeconds: 0) == .overLimit(report: 1))
        #expect(quota.opened(home, nowSeconds: 1) == .overLimit(report: nil))
        #expect(quota.openCount(home) == 4)
        // Another address has its own count.
        #expect(quota.opened(office, nowSeconds: 1) == .admitted)
    }

    @Test func closingMakesRoomAgain() {
        var quota = ConnectionQuota(limit: 1)
        #expect(quota.opened(home, nowSeconds: 0) == .admitted)
        #expect(quota.opened(home, nowSeconds: 0) == .overLimit(report: 1))
        quota.closed(home)
        #expect(quota.opened(home, nowSeconds: 0) == .overLimit(report: nil), "one of two closed: still one open")
        quota.closed(home)
        quota.closed(home)
        #expect(quota.openCount(home) == 0)
        #expect(quota.addressCount == 0)
        #expect(quota.opened(home, nowSeconds: 0) == .admitted)
    }

    /// A client retrying in a loop is reported once a minute, with how many were refused since.
    @Test func refusalsAreReportedAtMostOnceAnIntervalWithTheirCount() {
        var quota = ConnectionQuota(limit: 1)
        _ = quota.opened(home, nowSeconds: 100)
        #expect(quota.opened(home, nowSeconds: 100) == .overLimit(report: 1))
        for second in 101..<160 {
            quota.closed(home)
            #expect(quota.opened(home, nowSeconds: Int64(second)) == .overLimit(report: nil))
        }
        quota.closed(home)
        #expect(quota.opened(home, nowSeconds: 160) == .overLimit(report: 60))
        #expect(quota.opened(office, nowSeconds: 160) == .admitted)
        #expect(quota.opened(office, nowSeconds: 161) == .overLimit(report: 1), "each address has its own report")
    }

    @Test func closingAnAddressNeverCountedChangesNothing() {
        var quota = ConnectionQuota(limit: 1)
        quota.closed(home)
        #expect(quota.opened(home, nowSeconds: 0) == .admitted)
        #expect(quota.addressCount == 1)
    }

    @Test func limitZeroAdmitsEverythingAndCountsNothing() {
        var quota = ConnectionQuota(limit: 0)
        for _ in 0..<10_000 { #expect(quota.opened(home, nowSeconds: 0) == .admitted) }
        #expect(quota.addressCount == 0)
    }

    @Test func theRefusalNamesTheLimitAndTheOption() {
        let message = ConnectionQuota(limit: 3).refusalMessage
        #expect(message.contains("3 connections"))
        #expect(message.contains("--max-connections-per-address"))
    }

    @Test func ipv6AddressesCountByTheirSlash64() {
        let a = PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [UInt8](repeating: 0, count: 7) + [1])!
        let b = PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [UInt8](repeating: 0xab, count: 8))!
        let otherNetwork = PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2] + [UInt8](repeating: 0, count: 7) + [1])!
        #expect(a == b)
        #expect(a != otherNetwork)
        #expect(a.description == "2001:db8:0:1::/64")
        #expect(PeerAddress(bytes: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])!.description == "2001:db8::/64")
        #expect(PeerAddress(bytes: [UInt8](repeating: 0, count: 15) + [1])!.description == "::/64", "::1")
        #expect(PeerAddress(bytes: [0xfe, 0x80, 0, 0, 0, 0, 0x0a, 0x0b] + [UInt8](repeating: 0, count: 8))!.description == "fe80:0:0:a0b::/64")
        var quota = ConnectionQuota(limit: 1)
        #expect(quota.opened(a, nowSeconds: 0) == .admitted)
        #expect(quota.opened(b, nowSeconds: 0) == .overLimit(report: 1))
        #expect(quota.opened(otherNetwork, nowSeconds: 0) == .admitted)
    }

    @Test func anIPv4MappedIPv6AddressIsTheIPv4Address() {
        let mapped = PeerAddress(bytes: [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 7])!
        #expect(mapped == home)
        #expect(mapped.description == "192.0.2.7")
        // Not every IPv6 address with those bytes at the end is mapped: the prefix must be ::ffff.
        #expect(PeerAddress(bytes: [UInt8](repeating: 0, count: 12) + [192, 0, 2, 7])! != home)
    }

    @Test func otherLengthsAreNotAddresses() {
        #expect(PeerAddress(bytes: [1, 2, 3]) == nil)
        #expect(PeerAddress(bytes: [UInt8](repeating: 1, count: 8)) == nil)
    }
}
