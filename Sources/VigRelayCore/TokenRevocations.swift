/// The tokens an operator revoked (`vigrelay token revoke`): for a practitioner or a metrics id, every
/// token issued to it before a time. Tokens are checked without shared state (TokenAuthority), so
/// this list is the one thing a relay consults besides the signature and the expiry.
///
/// A token carries the millisecond it was issued (`iat`); one issued before tokens carried it has
/// none and is revoked by any entry for its id. Invites are not revoked here: each belongs to one
/// session, whose practitioner replaces it with a new link (`SessionRecord.invitesReplacedBeforeMs`).
/// Immutable value, safe on any thread.
public struct TokenRevocations: Sendable, Equatable {
    /// The kinds of token an operator can revoke.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case practitioner
        case metrics
    }

    /// Every token of `kind` for `id` issued before `issuedBeforeMs` (ms since 1970) is revoked.
    public struct Entry: Sendable, Equatable, Codable {
        public let kind: Kind
        public let id: String
        public let issuedBeforeMs: Int64

        public init(kind: Kind, id: String, issuedBeforeMs: Int64) {
            self.kind = kind
            self.id = id
            self.issuedBeforeMs = issuedBeforeMs
        }
    }

    /// One entry per kind and id, sorted by kind, then id.
    public private(set) var entries: [Entry]

    public init(entries: [Entry] = []) {
        self.entries = []
        for entry in entries { revoke(entry.kind, id: entry.id, issuedBeforeMs: entry.issuedBeforeMs) }
    }

    /// Whether a token of `kind` for `id`, issued at `issuedAtMs` (nil: not said), is revoked.
    public func revokes(_ kind: Kind, id: String, issuedAtMs: Int64?) -> Bool {
        guard let entry = entries.first(where: { $0.kind == kind && $0.id == id }) else { return false }
        guard let issuedAtMs else { return true }
        return issuedAtMs < entry.issuedBeforeMs
    }

    /// Revokes every token of `kind` for `id` issued before `issuedBeforeMs`. A later time replaces an
    /// earlier one; an earlier one never narrows what was revoked.
    public mutating func revoke(_ kind: Kind, id: String, issuedBeforeMs: Int64) {
        if let i = entries.firstIndex(where: { $0.kind == kind && $0.id == id }) {
            guard issuedBeforeMs > entries[i].issuedBeforeMs else { return }
            entries[i] = Entry(kind: kind, id: id, issuedBeforeMs: issuedBeforeMs)
        } else {
            entries.append(Entry(kind: kind, id: id, issuedBeforeMs: issuedBeforeMs))
            entries.sort { ($0.kind.rawValue, $0.id) < ($1.kind.rawValue, $1.id) }
        }
    }
}
