import Foundation
import Testing
import VigRelayCore

/// Routing and headers of the web app's pages and files (`WebSite` through `HTTPAPI`).
struct WebSiteTests {
    let site = WebSite(assets: [
        "practitioner.html": WebAsset(bytes: Array("<p>practitioner".utf8), contentType: "text/html; charset=utf-8"),
        "family.html": WebAsset(bytes: Array("<p>family".utf8), contentType: "text/html; charset=utf-8"),
        "family.js": WebAsset(bytes: Array("export {}".utf8), contentType: "text/javascript; charset=utf-8"),
    ], webSocketOrigin: "wss://relay.example:8443")

    func get(_ path: String, method: String = "GET", site: WebSite? = nil) -> HTTPResponse {
        let api = HTTPAPI(authority: Fixture.authority, limits: RelayLimits(), publicURL: "https://relay.example:8443",
                          site: site ?? self.site)
        let core = RelayCore(limits: RelayLimits(), authority: Fixture.authority, sessions: [], now: { Fixture.t0 })
        guard case .respond(let r) = api.handle(HTTPRequest(method: method, path: path), core: core, now: Fixture.t0) else {
            Issue.record("not a plain response for \(path)")
            return HTTPResponse(status: 0, body: [])
        }
        return r
    }

    @Test(arguments: [("/", "<p>practitioner"), ("/join", "<p>family"), ("/app/family.html", "<p>family")])
    func pagesAreServedWithTheirPolicy(path: String, body: String) {
        let r = get(path)
        #expect(r.status == 200)
        #expect(String(decoding: r.body, as: UTF8.self) == body)
        #expect(r.contentType == "text/html; charset=utf-8")
        #expect(r.headers["cache-control"] == "no-cache")
        #expect(r.headers["x-frame-options"] == "DENY")
        let csp = r.headers["content-security-policy"] ?? ""
        #expect(csp.contains("default-src 'none'"))
        #expect(csp.contains("script-src 'self';"))
        #expect(csp.contains("style-src 'self';"))
        #expect(csp.contains("media-src 'self' blob:;"))
        #expect(csp.contains("connect-src 'self' wss://relay.example:8443;"))
        #expect(csp.contains("frame-ancestors 'none'"))
        #expect(!csp.contains("unsafe"))
        #expect(r.headers["permissions-policy"]?.contains("camera=(self)") == true)
    }

    @Test func scriptsGetTheirTypeAndAnEmptyPolicy() {
        let r = get("/app/family.js")
        #expect(r.status == 200)
        #expect(r.contentType == "text/javascript; charset=utf-8")
        #expect(r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'")
        #expect(r.headers["permissions-policy"] == nil)
    }

    @Test(arguments: ["/app/", "/app/nope.js", "/app/../Package.swift", "/app/..%2fsecret", "/app/family.JS",
                      "/app/sub/family.js", "/app/family.js.map", "/app/.family.js", "/joinx"])
    func unknownOrOddNamesAre404(path: String) {
        let r = get(path)
        #expect(r.status == 404)
        #expect(r.contentType == "application/json")
    }

    @Test func withoutAWebAppThePagesAre404() {
        #expect(get("/", site: WebSite()).status == 404)
        #expect(get("/join", site: WebSite()).status == 404)
    }

    @Test(arguments: ["POST", "PUT", "DELETE"])
    func onlyGetAndHeadAreAllowed(method: String) {
        #expect(get("/", method: method).status == 405)
        #expect(get("/join", method: "HEAD").status == 200)
    }

    @Test func assetNamesAreAClosedAlphabet() {
        #expect(WebAsset.isValidName("mse-player.js"))
        #expect(WebAsset.isValidName("style.css"))
        #expect(!WebAsset.isValidName("../x.js"))
        #expect(!WebAsset.isValidName("x.exe"))
        #expect(!WebAsset.isValidName("a.b.js"))
        #expect(!WebAsset.isValidName(".js"))
        #expect(!WebAsset.isValidName("Upper.js"))
    }

    @Test func theApiStillAnswersItsOwnPaths() {
        #expect(get("/healthz").status == 200)
        #expect(get("/v1/nothing").status == 404)
    }
}
