import Foundation
import VigRelayCore

/// Finds the web app's directory and reads its files into a `WebSite`, once, at server start (never
/// on the service thread).
///
/// Thread: any; used before the server serves.
public enum WebSiteLoader {
    /// A file every web directory has: how a candidate directory is recognised.
    static let marker = WebSite.familyPage

    /// The web directory to serve: `explicit` if given, else the first that exists of
    /// `EXE_DIR/../share/vigrelay/web` (installed next to `/usr/local/bin/vigrelay`) and `web/` in
    /// the executable's directory or one of its four parents (the repository, for `.build/*/debug`).
    public static func locate(explicit: String?, executablePath: String) -> String? {
        if let explicit { return explicit }
        let real = (try? FileManager.default.destinationOfSymbolicLink(atPath: executablePath)) ?? executablePath
        let exeDir = URL(fileURLWithPath: real).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [exeDir.appendingPathComponent("../share/vigrelay/web").standardizedFileURL]
        var dir = exeDir
        for _ in 0...4 {
            candidates.append(dir.appendingPathComponent("web"))
            dir = dir.deletingLastPathComponent()
        }
        return candidates.map(\.path).first { FileManager.default.fileExists(atPath: $0 + "/" + marker) }
    }

    /// Reads every file of `directory` whose name `WebAsset.isValidName` accepts (subdirectories
    /// and other files are ignored). Throws when the directory or its pages cannot be read.
    public static func load(directory: String, webSocketOrigin: String?) throws -> WebSite {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw WebSiteError.unreadable(path: directory, reason: error.localizedDescription)
        }
        var assets: [String: WebAsset] = [:]
        for name in names where WebAsset.isValidName(name) {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                throw WebSiteError.unreadable(path: path, reason: "cannot read the file")
            }
            assets[name] = WebAsset(bytes: [UInt8](data), contentType: WebAsset.contentType(forName: name)!)
        }
        for page in [WebSite.practitionerPage, WebSite.familyPage] where assets[page] == nil {
            throw WebSiteError.pageMissing(path: directory + "/" + page)
        }
        return WebSite(assets: assets, webSocketOrigin: webSocketOrigin)
    }
}

/// Errors loading the web app; each says what to do.
public enum WebSiteError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case pageMissing(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "cannot read the web app at \(path): \(reason); pass --web-dir with the repository's web/ directory"
        case .pageMissing(let path):
            return "the web app has no \(path); pass --web-dir with the repository's web/ directory"
        }
    }
}
