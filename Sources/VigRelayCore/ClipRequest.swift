import Foundation

/// The body of `POST /v1/sessions/{id}/clips`, with its types checked; the span itself is checked
/// against the recording by `ClipPlan` (on the reader thread, which has the recording's index).
public struct ClipRequest: Sendable, Equatable {
    /// Longest note on a clip, in Unicode scalars (as on a mark: at most 2,000 bytes).
    public static let maxNoteLength = 500

    /// The session the clip belongs to.
    public var sessionID: String
    /// The recording to cut from (16 lower-case hex).
    public var recordingID: String
    /// Start of the span asked for, ms from the recording's start.
    public var fromMs: Int64
    /// End of the span asked for, ms from the recording's start.
    public var toMs: Int64
    /// The practitioner's note ("" when none); kept with the clip, never in the event log.
    public var note: String

    /// Describes a clip request.
    public init(sessionID: String, recordingID: String, fromMs: Int64, toMs: Int64, note: String = "") {
        self.sessionID = sessionID
        self.recordingID = recordingID
        self.fromMs = fromMs
        self.toMs = toMs
        self.note = note
    }

    /// Why a body is not a clip request.
    public enum Invalid: Error, Equatable {
        /// Not JSON, not an object, or a field of the wrong type or size: 400 with this message.
        case malformed(String)
        /// `recordingId` is a string but no recording id could look like it: 404.
        case unknownRecording
    }

    /// Reads `{"recordingId":"...","fromMs":N,"toMs":N,"note":"..."}` (`note` optional).
    public static func parse(_ body: [UInt8], sessionID: String) -> Result<ClipRequest, Invalid> {
        let example = #"send e.g. {"recordingId":"<16 hex>","fromMs":3000,"toMs":10000,"note":"..."}"#
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            return .failure(.malformed("body is not a JSON object; \(example)"))
        }
        guard let recordingID = object["recordingId"] as? String else {
            return .failure(.malformed("\"recordingId\" is missing or not a string; \(example)"))
        }
        guard let fromMs = wholeNumber(object["fromMs"]), let toMs = wholeNumber(object["toMs"]) else {
            return .failure(.malformed("\"fromMs\" and \"toMs\" must be whole numbers of milliseconds from the recording's start; \(example)"))
        }
        var note = ""
        if let value = object["note"], !(value is NSNull) {
            guard let text = value as? String else { return .failure(.malformed("\"note\" must be a string")) }
            guard text.unicodeScalars.count <= maxNoteLength else {
                return .failure(.malformed("\"note\" may have at most \(maxNoteLength) characters (Unicode scalars; it has \(text.unicodeScalars.count))"))
            }
            note = text
        }
        guard Identifiers.isValidRecordingID(recordingID) else { return .failure(.unknownRecording) }
        return .success(ClipRequest(sessionID: sessionID, recordingID: recordingID, fromMs: fromMs, toMs: toMs, note: note))
    }

    /// Reads `PATCH .../clips/{clipId}`'s `{"note":"..."}`: a clip's new note ("" for none), at most
    /// `maxNoteLength` Unicode scalars, and nothing else.
    public static func noteChange(_ body: [UInt8]) -> Result<String, SessionCreateRequest.InvalidField> {
        let example = #"send {"note":"..."} ("" for none)"#
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any], object.keys.allSatisfy({ $0 == "note" }),
              let note = object["note"] as? String else {
            return .failure(.init("the body must be a JSON object with only a string \"note\"; \(example)"))
        }
        guard note.unicodeScalars.count <= maxNoteLength else {
            return .failure(.init("\"note\" may have at most \(maxNoteLength) characters (Unicode scalars; it has \(note.unicodeScalars.count))"))
        }
        return .success(note)
    }

    /// A JSON integer (not a boolean, not a fraction), or nil.
    private static func wholeNumber(_ value: Any?) -> Int64? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
              let int = value as? Int else { return nil }
        return Int64(int)
    }
}
