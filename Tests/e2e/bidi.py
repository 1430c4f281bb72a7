"""A small WebDriver BiDi driver for the browser tests: one Firefox (Debian's firefox-esr), headless
or on a given X display, with its built-in BiDi server (no geckodriver), isolated user contexts (one
per user), pages driven with script.evaluate. Every wait has a deadline. The page API matches cdp.Page where it can, so a
test can drive a Firefox page and a Chromium page the same way."""

from __future__ import annotations

import base64
import itertools
import json
import math
import os
import shutil
import subprocess
import time
from pathlib import Path

from websockets.sync.client import connect

from pageactions import PageActions
from vrtest import end_process, free_port

# Prefs for the test profile (user.js). The fake camera and microphone with no permission prompt
# stand in for a phone's; the rest keeps a fresh profile from doing anything at start.
FIREFOX_PREFS = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "browser.shell.checkDefaultBrowser": False,
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.startup.homepage_override.mstone": "ignore",
    # Scrollbars over the page, as on a phone (a phone-sized viewport keeps its full width).
    "ui.useOverlayScrollbars": 1,
}


def firefox_path() -> str | None:
    for name in ("firefox-esr", "firefox"):
        path = shutil.which(name)
        if path:
            return path
    return None


class BiDiError(AssertionError):
    pass


def remote_value(v: dict):
    """A BiDi RemoteValue as a Python value (objects as dicts; nodes, functions, ... as their type name)."""
    kind = v.get("type")
    if kind in ("undefined", "null"):
        return None
    if kind in ("string", "boolean"):
        return v["value"]
    if kind == "number":
        special = {"NaN": math.nan, "-0": -0.0, "Infinity": math.inf, "-Infinity": -math.inf}
        return special.get(v["value"], v["value"]) if isinstance(v["value"], str) else v["value"]
    if kind == "bigint":
        return int(v["value"])
    if kind in ("array", "set"):
        return [remote_value(x) for x in v.get("value", [])]
    if kind in ("object", "map"):
        return {(k if isinstance(k, str) else str(remote_value(k))): remote_value(x) for k, x in v.get("value", [])}
    return f"<{kind}>"


class Firefox:
    """One Firefox process and its WebDriver BiDi session: headless, or with `display` (":N", an X
    server such as xvfb.VirtualDisplay) shown there, which screen sharing (getDisplayMedia) needs."""

    def __init__(self, workdir: Path, binary: str, display: str | None = None):
        self.port = free_port()
        profile = workdir / "firefox-profile"
        profile.mkdir()
        (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in FIREFOX_PREFS.items()))
        self.log = open(workdir / "firefox.log", "wb")
        headless = [] if display else ["--headless"]
        env = {**{k: v for k, v in os.environ.items() if k != "MOZ_HEADLESS"}, "DISPLAY": display} if display else None
        self.proc = subprocess.Popen([binary, *headless, "--no-remote", "--profile", str(profile),
                                      f"--remote-debugging-port={self.port}", "--remote-allow-hosts=127.0.0.1", "about:blank"],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.ws = self._connect(deadline=time.monotonic() + 60)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        # The dev certificate is made per test run: the session accepts it (pages and wss://).
        self.send("session.new", {"capabilities": {"alwaysMatch": {"acceptInsecureCerts": True}}})
        self.send("session.subscribe", {"events": ["log.entryAdded"]})

    def _connect(self, deadline: float):
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BiDiError(f"firefox exited {self.proc.returncode} at start")
            try:
                return connect(f"ws://127.0.0.1:{self.port}/session", max_size=64 << 20, open_timeout=5)
            except OSError as e:  # not listening yet
                last = e
            time.sleep(0.2)
        raise BiDiError(f"firefox's WebDriver BiDi endpoint did not come up: {last}")

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BiDiError(f"no answer to {method} within {timeout} s")
            reply = json.loads(self.ws.recv(timeout=left))
            if reply.get("id") == msg_id:
                if reply.get("type") == "error":
                    raise BiDiError(f"{method}: {reply.get('error')}: {reply.get('message')}")
                return reply.get("result", {})
            if reply.get("type") == "event":
                self.events.append(reply)
                del self.events[:-500]

    def new_page(self, name: str) -> "Page":
        """A tab in a new user context (its own cookies, storage and permissions)."""
        user_context = self.send("browser.createUserContext")["userContext"]
        context = self.send("browsingContext.create", {"type": "tab", "userContext": user_context})["context"]
        return Page(self, context, name)

    def console_problems(self) -> list[str]:
        """Console errors and warnings, and uncaught exceptions, of every page."""
        out = []
        for e in self.events:
            if e.get("method") == "log.entryAdded":
                entry = e["params"]
                if entry.get("level") in ("error", "warn"):
                    out.append(f"{entry.get('type')}: {entry.get('text')}")
        return out

    def close(self) -> None:
        try:
            self.send("browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.ws.close()
        except Exception:
            pass
        end_process(self.proc, exit_wait=15)
        self.log.close()


class Page(PageActions):
    """One tab, driven like cdp.Page: js, navigate, wait, click, text, screenshot."""

    script_error = BiDiError

    def __init__(self, browser: Firefox, context: str, name: str):
        self.browser = browser
        self.context = context
        self.name = name

    def js(self, expression: str, timeout: float = 30.0):
        """Evaluates an expression (awaiting a promise) as if initiated by the user; returns its value.
        Firefox gives a page that user activation only on the first such call after it loads (its
        BiDi notifies one when its flag changes, not on every call), and a transient activation lapses
        after 5 s (dom.user_activation.transient.timeout): for what needs one later (getDisplayMedia),
        use `pointer_click`."""
        r = self.browser.send("script.evaluate", {"expression": expression, "target": {"context": self.context},
                                                  "awaitPromise": True, "userActivation": True,
                                                  "resultOwnership": "none"}, timeout=timeout)
        if r.get("type") == "exception":
            d = r.get("exceptionDetails", {})
            raise BiDiError(f"{self.name}: {expression[:120]!r} threw: {d.get('text', d)}")
        return remote_value(r["result"])

    def navigate(self, url: str, ready: str = "document.readyState === 'complete'", timeout: float = 30.0) -> None:
        self.browser.send("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"}, timeout=timeout)
        self.wait(ready, timeout, f"{url} to load")

    def press(self, key: str) -> None:
        """Presses and releases one key: a character, or "Tab", "Enter", "Space"."""
        value = {"Tab": "\ue004", "Enter": "\ue007", "Space": " "}.get(key, key)
        self.browser.send("input.performActions", {"context": self.context, "actions": [
            {"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]}]})

    def pointer_click(self, selector: str) -> None:
        """Clicks an enabled element with the mouse (input.performActions at its centre, scrolled
        into view): a real user gesture, whenever it comes."""
        centre = self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e || e.disabled) return null; e.scrollIntoView({{block: 'center'}});
            const r = e.getBoundingClientRect(); return [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)]; }})()""")
        if centre is None:
            raise AssertionError(f"{self.name}: {selector} is missing or disabled")
        self.browser.send("input.performActions", {"context": self.context, "actions": [
            {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
                {"type": "pointerMove", "x": centre[0], "y": centre[1]},
                {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})

    def set_viewport(self, width: int | None, height: int | None = None, scale: float | None = None) -> None:
        """A phone-sized viewport (CSS pixels, device pixel ratio), or back to the window's with None.
        Firefox's BiDi has no touch emulation: the page gets a small viewport, not a touch screen."""
        viewport = {"width": width, "height": height} if width else None
        self.browser.send("browsingContext.setViewport", {"context": self.context, "viewport": viewport,
                                                          "devicePixelRatio": scale if width else None})

    def screenshot(self, path: Path, width: int | None = None, height: int | None = None, mobile: bool = False) -> Path:
        if width:
            self.set_viewport(width, height, 2 if mobile else 1)
        self.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        try:
            data = self.browser.send("browsingContext.captureScreenshot", {"context": self.context, "origin": "document"})["data"]
        finally:
            if width:
                self.set_viewport(None)
        path.write_bytes(base64.b64decode(data))
        return path
