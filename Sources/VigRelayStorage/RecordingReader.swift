import Foundation
import VigRelayCore

/// Finds and opens what a download asks for, and plans clips: the reads behind the recording
/// endpoints. Every path comes from `RecordingStore`, which checks ids and manifest file names.
///
/// A stateless value used on the reader thread (never the lws thread); the slices it opens belong
/// to the caller there.
public struct RecordingReader: Sendable {
    /// Where recordings and clips are.
    public let store: RecordingStore
    /// The session event logs (for summaries).
    public let events: SessionEventLog

    /// Reads under `dataDir`.
    public init(dataDir: String) {
        store = RecordingStore(dataDir: dataDir)
        events = SessionEventLog(dataDir: dataDir)
    }

    /// Opens the recording part or clip a download names, with its content type.
    public func open(_ request: MediaRequest) -> Result<(slice: MediaFileSlice, contentType: String), RecordingRequestError> {
        let sid = request.sessionID
        do {
            switch request.resource {
            case .recording(let rid, let part):
                guard let manifest = store.manifest(sessionID: sid, recordingID: rid), manifest.state != .deleted,
                      let entry = manifest.parts.first(where: { $0.number == part }),
                      let path = store.mediaPath(sessionID: sid, recordingID: rid, part: part) else {
                    return .failure(.recordingNotFound)
                }
                return .success((try MediaFileSlice(path: path), Self.contentType(fileName: entry.file)))
            case .clip(let cid):
                guard let clip = store.clip(sessionID: sid, clipID: cid),
                      let manifest = store.manifest(sessionID: sid, recordingID: clip.recordingId), manifest.state != .deleted,
                      let path = store.mediaPath(sessionID: sid, recordingID: clip.recordingId, part: clip.part) else {
                    return .failure(.clipNotFound)
                }
                guard let plan = clip.plan else { return .failure(.unreadable("the clip's record is damaged")) }
                let file = manifest.parts.first { $0.number == clip.part }?.file ?? ""
                return .success((try MediaFileSlice(path: path, plan: plan), Self.contentType(fileName: file)))
            }
        } catch {
            return .failure(error)
        }
    }

    /// The MIME type of a media file, from the extension `RecordingPaths` gave it.
    static func contentType(fileName: String) -> String {
        let container = MediaContainer.allCases.first { fileName.hasSuffix("." + $0.fileExtension) } ?? .other
        return RecordingManifestFile.mediaType(of: container)
    }
}
