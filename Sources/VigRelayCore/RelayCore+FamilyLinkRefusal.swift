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

/// Telling the practitioner that the family was turned away. A family on a link that expired or
/// was replaced is told so on its own page, and asked to get the newest link; without this the
/// practitioner would wait in the session not knowing the family tried.
///
/// Only the family's page asks for this (`GET .../invite?from=family`, as it opens), and only a
/// practitioner connection that asked for it gets it (`"notices":["family_link_refused"]` in its
/// hello: the practitioner's page and `vigrelay-client practitioner` do). A client written before it
/// never receives a message type it does not know, and a refused `hello` tells nobody anything new.
extension RelayCore {
    /// The least time between two notices to one practitioner connection: a family page reloaded
    /// again and again, or a stale link tried by hand, tells the practitioner once, not once a request.
    static let familyLinkRefusalNoticeSeconds: TimeInterval = 5

    /// The family's page checked this session's link (`GET /v1/sessions/{id}/invite?from=family`)
    /// and it was refused. The session's practitioner, when joined and asking for these notices, is
    /// told why; nothing is kept for a practitioner who is not there.
    public func familyLinkRefused(sessionID: String, _ reason: FamilyLinkRefusal) -> [RelayAction] {
        guard let practitioner = connection(of: sessionID, role: .practitioner),
              wantsFamilyLinkRefusals.contains(practitioner) else { return [] }
        let now = now()
        if let told = familyLinkRefusalToldAt[sessionID], told.connection == practitioner,
           now.timeIntervalSince(told.at) < Self.familyLinkRefusalNoticeSeconds {
            return []
        }
        familyLinkRefusalToldAt[sessionID] = (practitioner, now)
        return [.send(practitioner, .text(ControlEncoder.encode(["type": FamilyLinkRefusal.noticeType, "reason": reason.rawValue])))]
    }
}
