/// Why a clip cannot be cut: a bad span in the request (400), or an index that does not describe the
/// file (500).
public enum ClipPlanError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `fromMs` or `toMs` is below zero.
    case negative(fromMs: Int64, toMs: Int64)
    /// `toMs` is not after `fromMs`.
    case reversedOrEmpty(fromMs: Int64, toMs: Int64)
    /// The span does not lie within the recording's `durationMs`.
    case pastTheEnd(fromMs: Int64, toMs: Int64, durationMs: Int64)
    /// The span is longer than the limit.
    case tooLong(fromMs: Int64, toMs: Int64, maxSpanMs: Int64)
    /// No cluster starting with a keyframe lies before `toMs` in this part: nothing decodable to start
    /// from. `firstKeyframeMs` is the part's first keyframe cluster, if it has one.
    case noKeyframe(toMs: Int64, firstKeyframeMs: Int64?)
    /// The cluster list, init segment end or patch positions do not fit the file (a server bug or a
    /// damaged index), described by `reason`.
    case inconsistentIndex(String)

    /// The HTTP status to answer with: 400 for the request's span, 500 for a bad index.
    public var httpStatus: Int {
        if case .inconsistentIndex = self { 500 } else { 400 }
    }

    /// What was wrong with the span and what to ask for instead.
    public var description: String {
        switch self {
        case .negative(let from, let to):
            return "fromMs and toMs must not be negative (got \(from) and \(to)): they are milliseconds from the recording's start"
        case .reversedOrEmpty(let from, let to):
            return "the span is reversed or empty (fromMs \(from), toMs \(to)): toMs must be greater than fromMs"
        case .pastTheEnd(let from, let to, let duration):
            return "the span \(from)-\(to) ms is past the end of the recording (duration \(duration) ms): choose fromMs and toMs between 0 and \(duration)"
        case .tooLong(let from, let to, let limit):
            return "the span \(from)-\(to) ms is longer than \(Self.text(ms: limit)): cut clips of at most \(Self.text(ms: limit)) (VIG clips are usually 3-10 s)"
        case .noKeyframe(let to, let first?):
            return "the recording has no keyframe before toMs \(to) to start a clip at (its first is at \(first) ms): choose a span that ends after \(first) ms"
        case .noKeyframe(_, nil):
            return "the recording has no keyframe to start a clip at: it cannot be cut without re-encoding; download the whole recording instead"
        case .inconsistentIndex(let reason):
            return "the recording's index does not match its file (\(reason)): the clip cannot be cut; the whole recording can still be downloaded"
        }
    }

    /// `60 s` for whole seconds, else `1500 ms`.
    private static func text(ms: Int64) -> String {
        ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}
