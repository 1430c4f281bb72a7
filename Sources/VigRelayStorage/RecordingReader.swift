import Foundation
import VigRelayCore

/// Finds and opens what a download asks for, and plans clips: the reads behind the recording
/// endpoints. Every path comes from `RecordingStore`, which checks ids and manifest file names.
/// An encrypted recording's media is decrypted with its data key, opened with `keyring`.
///
/// A stateless value used on the reader thread (never the lws thread); the slices it opens belong
/// to the caller there.
public struct RecordingReader: Sendable {
    /// Where recordings and clips are.
    public let store: RecordingStore
    /// The session event logs (for summaries).
    public let events: SessionEventLog
    /// The relay's recording key; nil when it runs without one.
    public let keyring: RecordingKeyring?

    /// Reads under `dataDir`.
    public init(dataDir: String, keyring: RecordingKeyring? = nil) {
        store = RecordingStore(dataDir: dataDir)
        events = SessionEventLog(dataDir: dataDir)
        self.keyring = keyring
    }

    /// A download's media, opened.
    public struct OpenedMedia {
        public var slice: MediaFileSlice
        public var contentType: String
        /// Headers for the answer: an excerpt's span (`x-vigrelay-from-ms`, `x-vigrelay-to-ms`).
        public var headers: [String: String] = [:]
        /// The session whose files are read: the request's, or for a family's copy the session the
        /// clip was cut in (whose deletion must end the download too).
        public var filesOf: String
    }

    /// Opens the recording part, clip or excerpt a download names, with its content type and, for an
    /// excerpt, the span it holds (`x-vigrelay-from-ms`, `x-vigrelay-to-ms`: where its first
    /// keyframe is and where it stops, ms from the recording's start) as headers for the answer.
    public func open(_ request: MediaRequest) -> Result<OpenedMedia, RecordingRequestError> {
        let sid = request.sessionID
        do {
            switch request.resource {
            case .recording(let rid, let part):
                guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted,
                      let entry = manifest.parts.first(where: { $0.number == part }),
                      let path = store.mediaPath(sessionID: sid, recordingID: rid, part: part) else {
                    return .failure(.recordingNotFound)
                }
                return .success(OpenedMedia(slice: try MediaFileSlice(path: path, cipher: cipher(part: part, of: manifest)),
                                            contentType: Self.contentType(fileName: entry.file), filesOf: sid))
            case .clip(let cid), .familyCopy(let cid):
                // A family's copy is a clip given to it, of this session or another of its case.
                let found = request.resource == .clip(id: cid) ? store.clip(sessionID: sid, clipID: cid)
                    : store.familyCopyClip(sessionID: sid, clipID: cid)
                guard let clip = found,
                      let manifest = store.manifest(sessionID: clip.sessionId, recordingID: clip.recordingId), manifest.state != .deleted,
                      let path = store.mediaPath(sessionID: clip.sessionId, recordingID: clip.recordingId, part: clip.part) else {
                    return .failure(.clipNotFound)
                }
                guard let plan = clip.plan else { return .failure(.unreadable("the clip's record is damaged")) }
                let file = manifest.parts.first { $0.number == clip.part }?.file ?? ""
                return .success(OpenedMedia(slice: try MediaFileSlice(path: path, plan: plan, cipher: cipher(part: clip.part, of: manifest)),
                                            contentType: Self.contentType(fileName: file), filesOf: clip.sessionId))
            case .excerpt(let rid, let fromMs, let toMs):
                // Planned now, from the files the plan opened: read through the plan as a clip is.
                let cut = try planExcerpt(sessionID: sid, recordingID: rid, fromMs: fromMs, toMs: toMs).get()
                return .success(OpenedMedia(slice: try MediaFileSlice(path: cut.path, plan: cut.plan, cipher: cut.cipher), contentType: cut.contentType,
                                            headers: ["x-vigrelay-from-ms": String(cut.plan.actualFromMs), "x-vigrelay-to-ms": String(cut.plan.actualToMs)],
                                            filesOf: sid))
            }
        } catch {
            return .failure(error)
        }
    }

    /// The cipher that reads part `part` of `manifest`'s recording; nil when it is not encrypted.
    func cipher(part: Int, of manifest: RecordingManifest) throws(RecordingRequestError) -> MediaCipher? {
        do throws(RecordingKeyError) {
            return try RecordingKeyring.cipher(part: part, of: manifest, keyring: keyring)
        } catch {
            throw .keyUnavailable(error)
        }
    }

    /// The MIME type of a media file, from the extension `RecordingPaths` gave it.
    static func contentType(fileName: String) -> String {
        let container = MediaContainer.allCases.first { fileName.hasSuffix("." + $0.fileExtension) } ?? .other
        return RecordingManifestFile.mediaType(of: container)
    }
}
