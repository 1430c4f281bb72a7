/// One static file of the web app, held in memory.
public struct WebAsset: Sendable, Equatable {
    public var bytes: [UInt8]
    public var contentType: String

    public init(bytes: [UInt8], contentType: String) {
        self.bytes = bytes
        self.contentType = contentType
    }

    /// The Content-Type for an asset name's extension; nil for a kind the site does not serve.
    public static func contentType(forName name: String) -> String? {
        switch name.split(separator: ".").last {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }

    /// Whether `name` may name an asset: lower-case letters, digits and `-`, one dot, a served
    /// extension. Nothing else (no `/`, no `..`) can reach the map, let alone a file.
    public static func isValidName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...64).contains(parts[0].utf8.count),
              parts[0].utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
        else { return false }
        return contentType(forName: name) != nil
    }
}

/// The web app the relay serves on its own port: the practitioner page at `/`, the family page at
/// `/join` (the invite stays in the URL fragment, which the browser never sends) and their scripts
/// and styles at `/app/NAME`. Every file is loaded into memory once at start; a request only looks a
/// name up in this map, so an unknown name is a 404 and no path from a request reaches the disk.
///
/// Pure and immutable; built before the service thread starts and only read there.
public struct WebSite: Sendable {
    /// The practitioner's page, served at `/`.
    public static let practitionerPage = "practitioner.html"
    /// The family's page, served at `/join`.
    public static let familyPage = "family.html"
    /// Prefix of every other asset's path.
    public static let assetPrefix = "/app/"

    /// The assets by name (`family.js`, `style.css`, ...).
    public let assets: [String: WebAsset]
    /// The `wss://` origin the pages connect to, added to `connect-src` next to `'self'` (older
    /// Safari did not count `wss:` of the same host as `'self'`).
    public let webSocketOrigin: String?

    public init(assets: [String: WebAsset] = [:], webSocketOrigin: String? = nil) {
        self.assets = assets
        self.webSocketOrigin = webSocketOrigin
    }

    /// Content Security Policy of the pages: their own scripts, styles and connections only, video
    /// from `blob:` URLs (Media Source Extensions, downloaded clips); no inline script or style, no
    /// framing, no forms, no plug-ins.
    public var pagePolicy: String {
        let connect = ["'self'", webSocketOrigin].compactMap { $0 }.joined(separator: " ")
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self' blob:; "
            + "connect-src \(connect); base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    }

    /// Content Security Policy of scripts, styles and images: nothing.
    public static let assetPolicy = "default-src 'none'; frame-ancestors 'none'"

    /// The asset name a path serves, or nil when the path is not the site's.
    public static func assetName(forPath path: String) -> String? {
        switch path {
        case "/": return practitionerPage
        case "/join": return familyPage
        default:
            guard path.hasPrefix(assetPrefix) else { return nil }
            return String(path.dropFirst(assetPrefix.count))
        }
    }

    /// Whether the path belongs to the site (so the API should not answer it).
    public static func owns(path: String) -> Bool { assetName(forPath: path) != nil }

    /// The response to a GET or HEAD of a site path: the asset with its headers, or 404.
    public func response(forPath path: String) -> HTTPResponse {
        guard let name = Self.assetName(forPath: path), WebAsset.isValidName(name), let asset = assets[name] else {
            return .error(404, .notFound, "no such page or file: \(path.prefix(100)); the practitioner's page is /, the family's is /join")
        }
        var response = HTTPResponse(status: 200, body: asset.bytes)
        response.contentType = asset.contentType
        response.headers = headers(isPage: asset.contentType.hasPrefix("text/html"))
        return response
    }

    /// Headers of a site response beyond the common ones (which already carry nosniff,
    /// no-referrer and HSTS): revalidate every time (names are not versioned), the policy, no framing.
    func headers(isPage: Bool) -> [String: String] {
        var headers = [
            "cache-control": "no-cache",
            "content-security-policy": isPage ? pagePolicy : Self.assetPolicy,
            "x-frame-options": "DENY",
        ]
        if isPage {
            headers["permissions-policy"] = "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()"
            headers["cross-origin-opener-policy"] = "same-origin"
        }
        return headers
    }
}
