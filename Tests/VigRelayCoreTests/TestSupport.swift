import Foundation
import Testing
import VigRelayCore

/// Fixed secrets, instants and ids shared by the core tests.
enum Fixture {
    static let secret = [UInt8](repeating: 0x5a, count: 32)
    static let otherSecret = [UInt8](repeating: 0xa5, count: 32)
    /// Signs and checks with the relay's secret.
    static let authority = TokenAuthority(secret: secret)
    /// Signs with a secret the relay does not hold.
    static let forger = TokenAuthority(secret: otherSecret)
    /// 2027-01-15T08:00:00Z.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let sessionID = "0123456789abcdef0123456789abcdef"
    /// A session that exists but belongs to `otherOwner`.
    static let otherSessionID = "fedcba9876543210fedcba9876543210"
    /// A well-formed id the relay does not know.
    static let unknownSessionID = "00000000000000000000000000000000"
    static let owner = "pr-1"
    static let otherOwner = "pr-2"

    static func practitionerToken(_ id: String = owner, expiresAt: Date = t0.addingTimeInterval(3600)) -> String {
        authority.sign(.practitioner(id: id, expiresAt: expiresAt))
    }

    static func inviteToken(_ session: String = sessionID, expiresAt: Date = t0.addingTimeInterval(3600)) -> String {
        authority.sign(.invite(sessionID: session, expiresAt: expiresAt))
    }

    static func metricsToken(expiresAt: Date = t0.addingTimeInterval(3600)) -> String {
        authority.sign(.metrics(id: "prometheus", expiresAt: expiresAt))
    }
}

/// A clock the tests move by hand. Used on the test's own task only.
final class ManualClock {
    var now: Date
    init(_ now: Date) { self.now = now }
}

/// UTF-8 bytes of a string.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The JSON object in a text message, or nil when it is not one.
func jsonObject(_ bytes: [UInt8]) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
}

/// A media message built byte by byte (independently of `MediaFrameHeader.bytes`).
func mediaBytes(stream: UInt8, flags: MediaFrameFlags = [], sequence: UInt32 = 0, time: UInt64 = 0,
                payload: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
    var out: [UInt8] = [version, stream, flags.rawValue, 0]
    for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: sequence >> UInt32(shift))) }
    for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: time >> UInt64(shift))) }
    return out + payload
}

/// A media message of exactly `size` bytes (header included), payload bytes all `fill`.
func mediaBytes(_ stream: MediaStream, _ flags: MediaFrameFlags = [], size: Int, sequence: UInt32 = 0, fill: UInt8 = 0xee) -> [UInt8] {
    precondition(size >= MediaFrameHeader.size)
    return mediaBytes(stream: stream.rawValue, flags: flags, sequence: sequence,
                      payload: [UInt8](repeating: fill, count: size - MediaFrameHeader.size))
}

extension Array where Element == RelayAction {
    /// Messages queued for one connection, in order.
    func messages(to conn: ConnectionID) -> [OutboundMessage] {
        compactMap { if case .send(conn, let m) = $0 { m } else { nil } }
    }

    /// Text messages queued for one connection, decoded as JSON objects (non-JSON text is dropped).
    func controls(to conn: ConnectionID) -> [[String: Any]] {
        messages(to: conn).filter { !$0.isBinary }.compactMap { jsonObject($0.bytes) }
    }

    /// Binary messages queued for one connection.
    func media(to conn: ConnectionID) -> [[UInt8]] {
        messages(to: conn).filter(\.isBinary).map(\.bytes)
    }

    /// Close codes asked for one connection.
    func closeCodes(of conn: ConnectionID) -> [UInt16] {
        compactMap { if case .close(conn, let code, _) = $0 { code } else { nil } }
    }

    /// Every connection asked to close.
    var closedConnections: [ConnectionID] {
        compactMap { if case .close(let conn, _, _) = $0 { conn } else { nil } }
    }

    /// Every connection that gets a message.
    var recipients: Set<ConnectionID> {
        Set(compactMap { if case .send(let conn, _) = $0 { conn } else { nil } })
    }

    var events: [SessionEvent] {
        compactMap { if case .event(let e) = $0 { e } else { nil } }
    }

    /// True when no message is queued for a connection after it was asked to close.
    var sendsNothingAfterClose: Bool {
        var closed = Set<ConnectionID>()
        for action in self {
            switch action {
            case .close(let conn, _, _): closed.insert(conn)
            case .send(let conn, _): if closed.contains(conn) { return false }
            case .event, .recording, .catchUp: break
            }
        }
        return true
    }
}

/// A `RelayCore` with two sessions on a manual clock, and shortcuts to join it.
///
/// `Fixture.sessionID` belongs to `Fixture.owner`; `Fixture.otherSessionID` to `Fixture.otherOwner`.
final class RelayHarness {
    let clock = ManualClock(Fixture.t0)
    let core: RelayCore

    init(limits: RelayLimits = RelayLimits()) {
        let expiry = Fixture.t0.addingTimeInterval(7 * 86400)
        let sessions = [
            SessionRecord(id: Fixture.sessionID, owner: Fixture.owner, createdAt: Fixture.t0, inviteExpiresAt: expiry),
            SessionRecord(id: Fixture.otherSessionID, owner: Fixture.otherOwner, createdAt: Fixture.t0, inviteExpiresAt: expiry),
        ]
        core = RelayCore(limits: limits, authority: Fixture.authority, sessions: sessions, now: { [clock] in clock.now })
    }

    static func path(_ session: String = Fixture.sessionID) -> String { "/v1/sessions/\(session)/ws" }

    /// A valid token for a role of `Fixture.sessionID`.
    static func token(for role: Role) -> String {
        role == .practitioner ? Fixture.practitionerToken() : Fixture.inviteToken()
    }

    /// `{"type":"hello","token":...}` with an optional string id.
    static func hello(_ token: String, id: String? = nil) -> [UInt8] {
        var object: [String: Any] = ["type": "hello", "token": token]
        if let id { object["id"] = id }
        return ControlEncoder.encode(object)
    }

    /// Opens a connection on the session's path and sends the first text message.
    func connect(_ conn: ConnectionID, session: String = Fixture.sessionID, first: [UInt8]) -> [RelayAction] {
        let opened = core.opened(conn, path: Self.path(session))
        #expect(opened.isEmpty, "opening a valid path should not act")
        return core.receivedText(conn, first)
    }

    /// Opens a connection and joins `Fixture.sessionID` as the role, expecting a welcome.
    @discardableResult
    func join(_ conn: ConnectionID, as role: Role) -> [RelayAction] {
        let actions = connect(conn, first: Self.hello(Self.token(for: role)))
        #expect(actions.controls(to: conn).first?["type"] as? String == "welcome", "join as \(role) failed: \(actions)")
        return actions
    }
}

/// The text of a queued message, or "" for none.
func text(of message: OutboundMessage?) -> String { String(decoding: message?.bytes ?? [], as: UTF8.self) }
