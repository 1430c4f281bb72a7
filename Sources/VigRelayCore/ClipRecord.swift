import Foundation

/// A clip as the server keeps it, `DATA/sessions/{sid}/clips/{clipId}.json`: what was asked, what the
/// cut at keyframes gives, and the byte layout that `ClipPlan` worked out, so that every download
/// streams it from the recording's file without reading the index again.
///
/// No media is copied: the clip's bytes are always the recording's, read and patched on the fly.
/// Deleting the recording (consent withdrawn, a request, retention) deletes the clip records too.
public struct ClipRecord: Sendable, Codable, Equatable {
    public var clipId: String
    public var sessionId: String
    public var recordingId: String
    /// The recording's part the clip is cut from (1...).
    public var part: Int
    /// The span asked for, ms from the recording's start.
    public var fromMs: Int64
    public var toMs: Int64
    /// The span the clip really covers (cut at keyframes before `fromMs` and clusters after `toMs`).
    public var actualFromMs: Int64
    public var actualToMs: Int64
    /// The clip's length in bytes.
    public var bytes: Int64
    /// The practitioner's note; on disk empty when the recording is encrypted (`sealedNote` holds it).
    public var note: String
    /// On an encrypted recording, the note as `NoteSeal` sealed it; nil otherwise.
    public var sealedNote: String?
    public var createdAt: Date
    /// Byte ranges of the part's file, concatenated in order (`ClipPlan.ranges`).
    public var ranges: [[Int64]]
    /// Overwrites inside the clip (`ClipPlan.patches`).
    public var patches: [ClipPlan.Patch]

    /// A record of `plan`, cut from `part` for `request`.
    public init(clipId: String, request: ClipRequest, part: Int, plan: ClipPlan, createdAt: Date) {
        self.clipId = clipId
        self.sessionId = request.sessionID
        self.recordingId = request.recordingID
        self.part = part
        self.fromMs = request.fromMs
        self.toMs = request.toMs
        self.actualFromMs = plan.actualFromMs
        self.actualToMs = plan.actualToMs
        self.bytes = plan.byteCount
        self.note = request.note
        self.createdAt = createdAt
        self.ranges = plan.ranges.map { [$0.lowerBound, $0.upperBound] }
        self.patches = plan.patches
    }

    /// The stored plan again; nil when the record's ranges are not well-formed (a damaged file).
    public var plan: ClipPlan? {
        var parsed: [Range<Int64>] = []
        for pair in ranges {
            guard pair.count == 2, pair[0] >= 0, pair[0] <= pair[1] else { return nil }
            parsed.append(pair[0]..<pair[1])
        }
        let plan = ClipPlan(ranges: parsed, patches: patches, actualFromMs: actualFromMs, actualToMs: actualToMs)
        guard plan.byteCount == bytes,
              plan.patches.allSatisfy({ $0.offset >= 0 && $0.offset + Int64($0.bytes.count) <= bytes }) else { return nil }
        return plan
    }

    /// The record as it is written to disk: the note sealed with `seal` when there is one (an
    /// encrypted recording's), so the file holds no note in the clear.
    public func sealingNote(with seal: NoteSeal?) -> ClipRecord {
        guard let seal else { return self }
        var out = self
        out.sealedNote = seal.seal(note, ids: [sessionId, recordingId, clipId])
        out.note = ""
        return out
    }

    /// The note of a record read from disk: `note`, or the sealed note opened with `seal`; nil when
    /// it is sealed and does not open.
    public func openNote(with seal: NoteSeal?) -> String? {
        guard let sealedNote else { return note }
        return seal?.open(sealedNote, ids: [sessionId, recordingId, clipId])
    }

    /// The clip as the API shows it: ids, the span asked for and the one cut, the note, the size.
    public var summary: [String: Any] {
        ["clipId": clipId, "recordingId": recordingId, "fromMs": fromMs, "toMs": toMs,
         "actualFromMs": actualFromMs, "actualToMs": actualToMs, "bytes": bytes, "note": note]
    }

    /// The clip as the family's list of copies shows it: no note (the practitioner's working notes
    /// stay theirs), only what saving it needs.
    public var familyCopySummary: [String: Any] {
        ["clipId": clipId, "durationMs": actualToMs - actualFromMs, "bytes": bytes]
    }
}
