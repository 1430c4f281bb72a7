/// Counts the connections open from each `PeerAddress` and says which are past the limit
/// (`--max-connections-per-address`): one host, by a bug or on purpose, must not take the
/// descriptors and memory every other family and practitioner needs.
///
/// Every accepted connection is counted until it closes, those past the limit too (they are open).
/// A connection past the limit is not dropped at accept: it is answered with
/// `too_many_connections` (HTTP 429, or an error and close 1013 on a WebSocket), so that whoever is
/// behind it learns why. Pure value, owned by the service thread.
public struct ConnectionQuota: Sendable {
    /// What `opened` decided for a new connection.
    public enum Admission: Equatable, Sendable {
        case admitted
        /// Past the limit. `report` is how many connections from the address were refused since it
        /// was last reported (this one included) when a report is due, at most one a
        /// `reportIntervalSeconds` per address; nil otherwise. A client retrying in a loop or a flood
        /// then costs the log a line a minute, not one per connection.
        case overLimit(report: Int?)
    }

    /// Seconds between two reports of refusals from one address.
    public static let reportIntervalSeconds: Int64 = 60

    /// Most connections one address may hold; 0 means no limit (nothing is counted).
    public let limit: Int
    private var addresses: [PeerAddress: Entry] = [:]

    private struct Entry {
        var open = 0
        var unreported = 0
        var reportedAt: Int64?
    }

    public init(limit: Int) {
        self.limit = limit
    }

    /// Counts a connection just accepted from `peer` at `nowSeconds` (a monotonic clock).
    public mutating func opened(_ peer: PeerAddress, nowSeconds: Int64) -> Admission {
        guard limit > 0 else { return .admitted }
        var entry = addresses[peer, default: Entry()]
        entry.open += 1
        var admission = Admission.admitted
        if entry.open > limit {
            entry.unreported += 1
            admission = .overLimit(report: nil)
            if entry.reportedAt.map({ nowSeconds - $0 >= Self.reportIntervalSeconds }) ?? true {
                admission = .overLimit(report: entry.unreported)
                entry.unreported = 0
                entry.reportedAt = nowSeconds
            }
        }
        addresses[peer] = entry
        return admission
    }

    /// Forgets a connection from `peer` that has closed.
    public mutating func closed(_ peer: PeerAddress) {
        guard var entry = addresses[peer] else { return }
        entry.open -= 1
        addresses[peer] = entry.open > 0 ? entry : nil
    }

    /// Connections open from `peer` now.
    public func openCount(_ peer: PeerAddress) -> Int {
        addresses[peer]?.open ?? 0
    }

    /// What a connection past the limit is told (HTTP and WebSocket alike).
    public var refusalMessage: String {
        "your address already has \(limit) connections open to this relay, its limit; close some and try again,"
            + " or ask the relay's operator to raise --max-connections-per-address"
    }

    /// Addresses with at least one connection open (the table's size stays bounded by the
    /// connections open).
    public var addressCount: Int { addresses.count }
}
