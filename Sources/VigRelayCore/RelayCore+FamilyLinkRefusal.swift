import Foundation

/// Why the relay refused a family's link, as the session's practitioner is told it
/// (`{"type":"family_link_refused","reason":...}`).
public enum FamilyLinkRefusal: String, Sendable {
    /// A newer link was made for the session since this one: the family should open the newest.
    case replaced
    /// The link is past its expiry: the family needs a new one.
    case expired

    /// The message's type, which a practitioner names in its hello's `notices` to get it.
    public static let noticeType = "family_link_refused"
}

/// A refusal of the family's link and when it happened: what the core keeps of a session's newest
/// one, tells a practitioner who joins later, and shows in the session list.
public struct RefusedFamilyLink: Sendable, Equatable {
    public var reason: FamilyLinkRefusal
    public var at: Date

    public init(reason: FamilyLinkRefusal, at: Date) {
        self.reason = reason
        self.at = at
    }
}

/// Telling the practitioner that the family was turned away. A family on a link that expired or
/// was replaced is told so on its own page, and asked to get the newest link; without this the
/// practitioner would wait in the session not knowing the family tried. The family often opens the
/// link before the practitioner opens the session, so the newest refusal is kept for a while and told
/// to a practitioner who joins later, with how long ago it was.
///
/// Only the family's page asks for this (`GET .../invite?from=family`, as it opens), and only a
/// practitioner connection that asked for it gets it (`"notices":["family_link_refused"]` in its
/// hello: the practitioner's page and `vigrelay-client practitioner` do). A client written before it
/// never receives a message type it does not know, and a refused `hello` tells nobody anything new.
extension RelayCore {
    /// The least time between two notices to one practitioner connection: a family page reloaded
    /// again and again, or a stale link tried by hand, tells the practitioner once, not once a request.
    static let familyLinkRefusalNoticeSeconds: TimeInterval = 5
    /// How long a refusal is kept for a practitioner who joins later: about a call's length, so a
    /// practitioner who opens the session a little after the appointed time learns of it, and one
    /// who opens it another day is not told of an attempt long past.
    static let familyLinkRefusalKeptSeconds: TimeInterval = 3600

    /// The family's page checked this session's link (`GET /v1/sessions/{id}/invite?from=family`)
    /// and it was refused. The session's practitioner, when joined and asking for these notices, is
    /// told why; otherwise it is kept for one who joins within the hour.
    public func familyLinkRefused(sessionID: String, _ reason: FamilyLinkRefusal) -> [RelayAction] {
        guard sessions[sessionID] != nil else { return [] }
        let now = now()
        lastFamilyLinkRefusal[sessionID] = RefusedFamilyLink(reason: reason, at: now)
        return tellFamilyLinkRefusal(sessionID: sessionID, now: now)
    }

    /// A side joined (`RelayCore.join`): a practitioner is told of a recent refusal; the family
    /// joining means it found a good link, so a refusal before is no longer news.
    func familyLinkRefusalOnJoin(sessionID: String, role: Role) -> [RelayAction] {
        guard role == .practitioner else {
            lastFamilyLinkRefusal[sessionID] = nil
            return []
        }
        return tellFamilyLinkRefusal(sessionID: sessionID, now: now())
    }

    /// The session's newest refusal, if within the hour it is kept (and neither the family has joined
    /// nor a new link been made since): told to a practitioner who joins, and shown in the session list.
    func recentFamilyLinkRefusal(sessionID: String, now: Date) -> RefusedFamilyLink? {
        guard let refusal = lastFamilyLinkRefusal[sessionID],
              now.timeIntervalSince(refusal.at) < Self.familyLinkRefusalKeptSeconds else { return nil }
        return refusal
    }

    /// The notice of the session's kept refusal to its practitioner, if recent, joined, asking for
    /// it, and not told in the last few seconds.
    private func tellFamilyLinkRefusal(sessionID: String, now: Date) -> [RelayAction] {
        guard let refusal = recentFamilyLinkRefusal(sessionID: sessionID, now: now),
              let practitioner = connection(of: sessionID, role: .practitioner),
              wantsFamilyLinkRefusals.contains(practitioner) else { return [] }
        if let told = familyLinkRefusalToldAt[sessionID], told.connection == practitioner,
           now.timeIntervalSince(told.at) < Self.familyLinkRefusalNoticeSeconds {
            return []
        }
        familyLinkRefusalToldAt[sessionID] = (practitioner, now)
        let secondsAgo = max(0, Int(now.timeIntervalSince(refusal.at)))
        return [.send(practitioner, .text(ControlEncoder.encode(
            ["type": FamilyLinkRefusal.noticeType, "reason": refusal.reason.rawValue, "secondsAgo": secondsAgo])))]
    }
}
