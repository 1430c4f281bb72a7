/// Where a connection comes from, as the connection limit counts it: an IPv4 address, or the /64
/// network of an IPv6 address (one home or phone is usually given a whole /64, so counting single
/// IPv6 addresses would let one host open as many connections as it has addresses).
///
/// Pure value; built by the server from the accepted socket's peer address.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IPv4 address, or the first 64 bits of the IPv6 one.
    private let bits: UInt64
    private let isIPv6: Bool

    /// `bytes` is an address in network order: 4 bytes (IPv4) or 16 (IPv6; an IPv4-mapped
    /// `::ffff:a.b.c.d` counts as the IPv4 address). Nil for any other length.
    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self.init(bits: b.reduce(0) { $0 << 8 | UInt64($1) }, isIPv6: false)
        case 16 where b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff:
            self.init(bits: b[12...].reduce(0) { $0 << 8 | UInt64($1) }, isIPv6: false)
        case 16:
            self.init(bits: b[0..<8].reduce(0) { $0 << 8 | UInt64($1) }, isIPv6: true)
        default:
            return nil
        }
    }

    private init(bits: UInt64, isIPv6: Bool) {
        self.bits = bits
        self.isIPv6 = isIPv6
    }

    /// `192.0.2.7`, or an IPv6 network as RFC 5952 writes it: `2001:db8:0:1::/64`, `2001:db8::/64`,
    /// `::/64`. (The last four groups are zero, so the longest run of zero groups is the one at the
    /// end, together with any zero groups just before it.)
    public var description: String {
        guard isIPv6 else { return (0..<4).map { String(bits >> (24 - 8 * $0) & 0xff) }.joined(separator: ".") }
        var groups = (0..<4).map { bits >> (48 - 16 * $0) & 0xffff }
        while groups.last == 0 { groups.removeLast() }
        return groups.map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
    }
}
