/// Why a download, a clip or a summary request cannot be served, as decided where the files are
/// (the reader or writer thread), with the HTTP answer for each. Messages never hold media, notes or
/// anything read from the files beyond ids and numbers.
public enum RecordingRequestError: Error, Sendable, Equatable {
    /// No such recording or part, or it was deleted: 404 `recording_not_found`.
    case recordingNotFound
    /// No such clip, or its recording was deleted: 404 `clip_not_found`.
    case clipNotFound
    /// A clip of a recording still being written: 409 `recording_in_progress`.
    case recordingInProgress(recordingID: String)
    /// A clip of a recording that is neither WebM nor fragmented MP4, or one whose file a cut would
    /// break (`reason`): 400 `invalid_request`.
    case notCuttable(mediaType: String, reason: String?)
    /// The span starts in one part and reaches into the next, which starts at `nextPartStartMs`:
    /// 400 `invalid_request`.
    case crossesPartBoundary(fromMs: Int64, toMs: Int64, nextPartStartMs: Int64)
    /// The span does not fit the recording (negative, reversed, past the end, too long, no
    /// keyframe): 400; a damaged index: 500.
    case invalidSpan(ClipPlanError)
    /// A file that should be there cannot be read or does not match its index: 500.
    case unreadable(String)
    /// A clip of a recording that holds no media (stopped before the camera sent any): 400.
    case noMedia(recordingID: String)
    /// An encrypted recording this relay cannot decrypt (no or another `--recording-key`): 503
    /// `recording_key_unavailable`.
    case keyUnavailable(RecordingKeyError)

    /// The response to send.
    public var response: HTTPResponse {
        switch self {
        case .recordingNotFound:
            return .error(404, .recordingNotFound, "no such recording or part in this session (it may have been deleted); the session summary GET /v1/sessions/{id} lists recordings and their parts")
        case .clipNotFound:
            return .error(404, .clipNotFound, "no such clip in this session (it is deleted with its recording); the session summary GET /v1/sessions/{id} lists clips")
        case .recordingInProgress(let id):
            return .error(409, .recordingInProgress, "recording \(id) is still being recorded: stop the recording first, then cut the clip")
        case .notCuttable(let type, nil):
            return .error(400, .invalidRequest, "clips need a WebM or fragmented MP4 recording (video/webm, video/mp4), this one is \(type); download the whole recording instead")
        case .notCuttable(let type, let reason?):
            return .error(400, .invalidRequest, "this \(type) recording cannot be cut into clips: \(reason); download the whole recording instead")
        case .crossesPartBoundary(let from, let to, let next):
            return .error(400, .invalidRequest, "the span \(from)-\(to) ms crosses a part boundary: the camera stream restarted at \(next) ms, where the recording's next part starts; cut a clip that ends by \(next) ms or starts after it")
        case .invalidSpan(let error):
            return .error(error.httpStatus, error.httpStatus == 400 ? .invalidRequest : .internalError, error.description)
        case .unreadable(let reason):
            return .error(500, .internalError, "the recording could not be read (\(reason)); tell the operator if it persists")
        case .noMedia(let id):
            return .error(400, .invalidRequest, "recording \(id) holds no media (it stopped before the camera sent any), so there is nothing to cut")
        case .keyUnavailable(let reason):
            return .error(503, .recordingKeyUnavailable, "this relay cannot decrypt the recording: \(reason); ask the operator to start the relay with the --recording-key it was recorded under")
        }
    }
}
