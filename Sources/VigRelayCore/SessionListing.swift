import Foundation

/// What the family last said about recording.
public struct ConsentAnswer: Sendable, Equatable {
    /// True: recording allowed; false: withdrawn (or refused).
    public var recording: Bool
    /// The child (12 or over) agreed too; only with `recording`.
    public var childAgreed: Bool
    /// The practitioner's supervisor may watch the recordings too; only with `recording`.
    public var supervisorMayView: Bool

    public init(recording: Bool, childAgreed: Bool = false, supervisorMayView: Bool = false) {
        self.recording = recording
        self.childAgreed = recording && childAgreed
        self.supervisorMayView = recording && supervisorMayView
    }
}

/// What the relay knows about a session in memory, read on the lws thread for `GET /v1/sessions`.
public struct SessionLiveState: Sendable, Equatable {
    /// The sides connected now, `family` before `practitioner`.
    public var connected: [Role]
    /// Someone joined the session since the server started.
    public var joinedSinceStart: Bool
    /// The family's answer given since the server started (or restored as given at start); nil when
    /// the core does not know it (the reader thread then reads it from `session.jsonl`).
    public var consent: ConsentAnswer?
    /// The recording running now (or waiting for a side, or for its first keyframe).
    public var recordingID: String?
    /// The sides a running recording waits for (they left within the reconnect grace), sorted.
    public var awaiting: [Role]
    /// Why and when the family's page was last turned away on an old link, within the hour
    /// (`RelayCore.recentFamilyLinkRefusal`): the practitioner can send the newest link from the list.
    public var familyLinkRefusal: RefusedFamilyLink?

    public init(connected: [Role] = [], joinedSinceStart: Bool = false, consent: ConsentAnswer? = nil,
                recordingID: String? = nil, awaiting: [Role] = [], familyLinkRefusal: RefusedFamilyLink? = nil) {
        self.connected = connected
        self.joinedSinceStart = joinedSinceStart
        self.consent = consent
        self.recordingID = recordingID
        self.awaiting = awaiting
        self.familyLinkRefusal = familyLinkRefusal
    }
}

/// What the reader thread found on disk about one listed session (`RecordingReader.diskFacts`).
public struct SessionDiskFacts: Sendable, Equatable {
    /// Recordings whose media is kept (manifests not `deleted`).
    public var recordingIDs: [String]
    /// Their media bytes: the manifests' totals, or the files' sizes for one still being written.
    public var recordingBytes: Int64
    /// Recordings deleted (withdrawal, a request, retention): only their manifests are left.
    public var deletedRecordings: Int
    /// Clip records on disk.
    public var clips: Int
    /// The newest `consent` event; nil when there is none, or when a damaged newer line might have
    /// been one (the relay then counts consent as not given, see `PersistedRecordingState`).
    public var consent: ConsentAnswer?
    /// A `joined` event is in the log: someone has been connected at some time.
    public var joined: Bool
    /// The newest event's time: when the session was last active.
    public var lastEventAt: Date?

    public init(recordingIDs: [String] = [], recordingBytes: Int64 = 0, deletedRecordings: Int = 0, clips: Int = 0,
                consent: ConsentAnswer? = nil, joined: Bool = false, lastEventAt: Date? = nil) {
        self.recordingIDs = recordingIDs
        self.recordingBytes = recordingBytes
        self.deletedRecordings = deletedRecordings
        self.clips = clips
        self.consent = consent
        self.joined = joined
        self.lastEventAt = lastEventAt
    }
}

/// One page of `GET /v1/sessions`, chosen on the lws thread: the practitioner's sessions newest first
/// with what the core knows of each; the reader thread adds what is on disk and makes the body.
public struct SessionListPage: Sendable, Equatable {
    /// A listed session and its in-memory state.
    public struct Item: Sendable, Equatable {
        public var session: SessionRecord
        public var live: SessionLiveState

        public init(session: SessionRecord, live: SessionLiveState) {
            self.session = session
            self.live = live
        }
    }

    public var items: [Item]
    /// How many sessions the practitioner has in all.
    public var total: Int
    /// The page size used.
    public var limit: Int
    /// The `before=` of the next page; nil on the last page.
    public var nextBefore: String?
    /// The relay's `--retention` (nil: recordings are kept until deleted), so the practitioner's
    /// page can say when a case's recordings go.
    public var retentionSeconds: Int?

    public init(items: [Item], total: Int, limit: Int, nextBefore: String?, retentionSeconds: Int? = nil) {
        self.items = items
        self.total = total
        self.limit = limit
        self.nextBefore = nextBefore
        self.retentionSeconds = retentionSeconds
    }

    /// Newest first: by creation time, then by id (creation times are whole seconds), both descending.
    public static func newerFirst(_ a: SessionRecord, _ b: SessionRecord) -> Bool {
        (a.createdAt, a.id) > (b.createdAt, b.id)
    }

    /// The page after `before` (from the start when nil) of `sessions`, which must be one
    /// practitioner's; `live` gives each listed session's in-memory state. Nil when `before` is not
    /// one of them.
    public static func make(of sessions: [SessionRecord], limit: Int, before: String?, retentionSeconds: Int? = nil,
                            live: (SessionRecord) -> SessionLiveState) -> SessionListPage? {
        let sorted = sessions.sorted(by: newerFirst)
        var start = 0
        if let before {
            guard let at = sorted.firstIndex(where: { $0.id == before }) else { return nil }
            start = at + 1
        }
        let slice = sorted[start..<min(sorted.count, start + limit)]
        let next = start + limit < sorted.count ? slice.last?.id : nil
        return SessionListPage(items: slice.map { Item(session: $0, live: live($0)) }, total: sorted.count,
                               limit: limit, nextBefore: next, retentionSeconds: retentionSeconds)
    }

    /// The response body: `{"sessions":[...],"total":N,"limit":L[,"nextBefore":ID][,"retentionSeconds":S]}`, one entry per
    /// item with its `facts` (same order; missing facts count as nothing on disk).
    public func body(facts: [SessionDiskFacts]) -> [String: Any] {
        var out: [String: Any] = [
            "sessions": items.indices.map { SessionListEntry(items[$0], facts: $0 < facts.count ? facts[$0] : SessionDiskFacts()).json },
            "total": total,
            "limit": limit,
        ]
        if let nextBefore { out["nextBefore"] = nextBefore }
        if let retentionSeconds { out["retentionSeconds"] = retentionSeconds }
        return out
    }
}
