"""The web app's pages and files over HTTPS: content types, security headers, 404 for anything else."""

from __future__ import annotations

import pytest

from vrtest import HTTPConn

PAGE_CSP_PARTS = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "media-src 'self' blob:",
                  "connect-src 'self' wss://127.0.0.1:", "frame-ancestors 'none'", "base-uri 'none'"]


@pytest.mark.parametrize("path,marker", [("/", b'id="create-session"'), ("/join", b'id="consent-recording"')])
def test_pages_are_served_with_their_security_headers(relay, path, marker):
    r = relay.http("GET", path)
    assert r.status == 200, r
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert marker in r.body
    csp = r.headers["content-security-policy"]
    for part in PAGE_CSP_PARTS:
        assert part in csp, f"{part!r} missing from CSP {csp!r}"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["strict-transport-security"].startswith("max-age=")
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-cache"
    assert "camera=(self)" in r.headers["permissions-policy"]
    # no inline script or style: every script is a module from /app/
    assert b"<script>" not in r.body and b"style=" not in r.body and b"<style" not in r.body


@pytest.mark.parametrize("name,ctype", [("family.js", "text/javascript; charset=utf-8"),
                                        ("protocol.js", "text/javascript; charset=utf-8"),
                                        ("style.css", "text/css; charset=utf-8")])
def test_assets_have_their_content_type(relay, name, ctype):
    r = relay.http("GET", f"/app/{name}")
    assert r.status == 200, r
    assert r.headers["content-type"] == ctype
    assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    conn = HTTPConn(relay.port, relay.ssl_ctx)
    try:
        head = conn.request("HEAD", f"/app/{name}")
    finally:
        conn.close()
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == r.headers["content-length"]


@pytest.mark.parametrize("path", ["/app/nope.js", "/app/../Package.swift", "/app/%2e%2e/Package.swift",
                                  "/app/sub/family.js", "/app/README.md", "/index.html", "/join/x"])
def test_other_paths_are_404_json(relay, path):
    r = relay.http("GET", path)
    assert r.status == 404, r
    assert r.headers["content-type"] == "application/json"


def test_pages_refuse_post(relay):
    r = relay.http("POST", "/join", body=b"{}")
    assert r.status == 405, r
