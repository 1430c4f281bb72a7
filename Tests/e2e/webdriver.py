"""A small W3C WebDriver client for the browser tests in WebKit: Debian's WebKitGTK (Safari's engine)
through its WebKitWebDriver, which starts WebKitGTK's MiniBrowser in automation mode. WebKitGTK has
no headless mode, so the browser draws on its own Xvfb display. MiniBrowser's mock capture devices
stand in for a phone's camera (getUserMedia is granted with no prompt in automation mode). Every wait
has a deadline. The page API matches cdp.Page and bidi.Page where it can.

One WebDriver session is one browser: pages are windows of it and share its storage (unlike the
isolated contexts of cdp.py and bidi.py)."""

from __future__ import annotations

import base64
import glob
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from pageactions import PageActions
from vrtest import end_process, free_port
from xvfb import VirtualDisplay, xvfb_path

# MiniBrowser's settings for the tests: media capture with mock devices, MSE, autoplay with sound.
MINIBROWSER_ARGS = [
    "--automation", "--enable-media-stream=true", "--enable-mock-capture-devices=true", "--enable-mediasource=true",
    "--autoplay-policy=allow",
]

# WebDriver classic has no console log, and MiniBrowser in automation mode writes none: each page
# keeps its console errors and warnings and uncaught exceptions from when it has loaded (navigate
# installs this), for console_problems.
_CONSOLE_HOOK = """(() => {
  if (window.__consoleProblems) return true;
  window.__consoleProblems = [];
  const keep = (kind, args) => window.__consoleProblems.push(kind + ": " + args.map(String).join(" "));
  for (const level of ["error", "warn"]) {
    const original = console[level].bind(console);
    console[level] = (...args) => { keep(level, args); original(...args); };
  }
  window.addEventListener("error", (e) => keep("exception", [e.message]));
  window.addEventListener("unhandledrejection", (e) => keep("unhandled rejection", [e.reason]));
  return true;
})()"""


def webkit_driver_path() -> str | None:
    return shutil.which("WebKitWebDriver")


def minibrowser_path() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/webkit2gtk-4.*/MiniBrowser"))
    return found[-1] if found else None


class WebDriverError(AssertionError):
    pass


class WebKit:
    """One WebKitWebDriver (and through it one MiniBrowser) on its own Xvfb display, one session."""

    def __init__(self, workdir: Path, driver: str):
        browser = minibrowser_path()
        if browser is None:
            raise WebDriverError("WebKitGTK's MiniBrowser not found: apt-get install webkit2gtk-driver (libwebkit2gtk-4.1-0)")
        if xvfb_path() is None:
            raise WebDriverError("Xvfb not found: apt-get install xvfb (scripts/test.sh installs it)")
        self.xvfb = VirtualDisplay(workdir, xvfb_path())
        self.port = free_port()
        self.log_path = workdir / "webkit.log"
        self.log = open(self.log_path, "wb")
        # No accelerated compositing: on Xvfb it is GL in software, which took the CPU that video
        # decoding needed (the live picture showed a few frames a second).
        env = dict(os.environ, DISPLAY=self.xvfb.display, WEBKIT_DISABLE_COMPOSITING_MODE="1")
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        self.session = None
        self.current = None
        self.pages: list[Page] = []
        try:
            self._wait_ready(deadline=time.monotonic() + 30)
            # The dev certificate is made per test run: the session accepts it (pages and wss://).
            caps = {"acceptInsecureCerts": True, "webkitgtk:browserOptions": {"binary": browser, "args": MINIBROWSER_ARGS}}
            reply = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}}, timeout=60)
            self.session = reply["sessionId"]
            self.version = reply["capabilities"].get("browserVersion")
            self.call("POST", f"/session/{self.session}/timeouts", {"script": 120_000})
            self.first_window = self.call("GET", f"/session/{self.session}/window")
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, deadline: float) -> None:
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WebDriverError(f"WebKitWebDriver exited {self.proc.returncode} at start (see {self.log_path})")
            try:
                if self.call("GET", "/status", timeout=2).get("ready"):
                    return
            except (OSError, WebDriverError) as e:
                last = e
            time.sleep(0.1)
        raise WebDriverError(f"WebKitWebDriver did not come up: {last}")

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return json.load(r).get("value")
        except urllib.error.HTTPError as e:
            value = json.load(e).get("value", {})
            raise WebDriverError(f"{method} {path}: {value.get('error')}: {value.get('message')}") from None
        except TimeoutError:
            raise WebDriverError(f"no answer to {method} {path} within {timeout} s") from None

    def new_page(self, name: str) -> "Page":
        """The browser's first window, then a new one per page (same storage: see the module's note)."""
        if self.first_window is not None:
            handle, self.first_window = self.first_window, None
        else:
            handle = self.call("POST", f"/session/{self.session}/window/new", {"type": "window"})["handle"]
        page = Page(self, handle, name)
        self.pages.append(page)
        return page

    def switch_to(self, handle: str) -> None:
        if self.current != handle:
            self.call("POST", f"/session/{self.session}/window", {"handle": handle})
            self.current = handle

    def console_problems(self) -> list[str]:
        """Console errors and warnings, and uncaught exceptions, of every page since it loaded (see
        _CONSOLE_HOOK: what happens while a document loads is not seen)."""
        return [p for page in self.pages for p in page.js("window.__consoleProblems || []")]

    def close(self) -> None:
        if self.session:
            try:
                self.call("DELETE", f"/session/{self.session}", timeout=15)
            except Exception:
                pass
        end_process(self.proc, exit_wait=0)
        self.log.close()
        self.xvfb.close()


def script_body(source: str) -> str:
    """An expression, or statements ending in one (`a = 1; b.click(); true`), as the body of an async
    WebDriver script that hands back {value} (awaited) or {error}: a page's exception is a test failure
    with its message. (No eval: the pages' Content-Security-Policy forbids it.)"""
    parts, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(source):
        c = source[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "'\"`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == ";" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    parts = [p for p in parts if p.strip()]
    body = "".join(f"{p};\n" for p in parts[:-1]) + f"return ({parts[-1]});"
    return ("const done = arguments[arguments.length - 1];\n"
            f"(async () => {{ {body} }})()\n"
            "  .then((value) => done({ value: value === undefined ? null : value }), (error) => done({ error: String(error) }));")


class Page(PageActions):
    """One window, driven like cdp.Page: js, navigate, wait, click, text, press, screenshot."""

    script_error = WebDriverError

    def __init__(self, browser: WebKit, handle: str, name: str):
        self.browser = browser
        self.handle = handle
        self.name = name

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0):
        self.browser.switch_to(self.handle)
        return self.browser.call(method, f"/session/{self.browser.session}{path}", body, timeout=timeout)

    def js(self, expression: str, timeout: float = 30.0):
        """Evaluates an expression or statements (awaiting a promise); returns its JSON value. There is
        no user gesture (WebDriver has none to give): MiniBrowser runs with autoplay allowed."""
        r = self._call("POST", "/execute/async", {"script": script_body(expression), "args": []}, timeout=timeout + 5)
        if "error" in r:
            raise WebDriverError(f"{self.name}: {expression[:120]!r} threw: {r['error']}")
        return r["value"]

    def navigate(self, url: str, ready: str = "document.readyState === 'complete'", timeout: float = 30.0) -> None:
        self._call("POST", "/url", {"url": url}, timeout=timeout)
        self.wait(ready, timeout, f"{url} to load")
        self.js(_CONSOLE_HOOK)

    def press(self, key: str) -> None:
        """Presses and releases one key: a character, or "Tab", "Enter", "Space"."""
        value = {"Tab": "\ue004", "Enter": "\ue007", "Space": " "}.get(key, key)
        self._call("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]}]})

    def screenshot(self, path: Path, width: int | None = None, height: int | None = None, mobile: bool = False) -> Path:
        """A PNG of the viewport; with a width, of a window that size first (WebDriver has no device
        emulation: a small window, not a phone)."""
        before = None
        if width:
            before = self._call("GET", "/window/rect")
            self._call("POST", "/window/rect", {"width": width, "height": height})
        self.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        try:
            data = self._call("GET", "/screenshot")
        finally:
            if before:
                self._call("POST", "/window/rect", {"width": before["width"], "height": before["height"]})
        path.write_bytes(base64.b64decode(data))
        return path
