"""A small Chrome DevTools Protocol driver for the browser tests: one headless Chromium, isolated
browser contexts (one per user), pages driven with Runtime.evaluate. Every wait has a deadline."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect

from pageactions import PageActions
from vrtest import end_process, free_port

CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--no-first-run", "--no-default-browser-check", "--disable-gpu",
    "--disable-dev-shm-usage", "--use-fake-ui-for-media-stream",
    # Two fake cameras, as a phone has (front and back): the family's page offers to switch.
    "--use-fake-device-for-media-stream=device-count=2",
    "--auto-select-desktop-capture-source=Entire screen", "--autoplay-policy=no-user-gesture-required",
    # The dev certificate is made per test run; the test profile accepts it.
    "--ignore-certificate-errors", "--mute-audio", "--window-size=1280,900",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(AssertionError):
    pass


class Browser:
    """One Chromium process and its browser-level DevTools connection (flattened sessions)."""

    def __init__(self, workdir: Path, binary: str):
        self.port = free_port()
        self.log = open(workdir / "chromium.log", "wb")
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--remote-debugging-port={self.port}",
                                      "--remote-debugging-address=127.0.0.1", f"--user-data-dir={workdir / 'profile'}",
                                      "about:blank"], stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = self._browser_ws_url(deadline=time.monotonic() + 30)
        self.ws = connect(url, max_size=64 << 20, open_timeout=10)
        self.ids = itertools.count(1)
        self.events: list[dict] = []

    def _browser_ws_url(self, deadline: float) -> str:
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CDPError(f"chromium exited {self.proc.returncode} at start")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=2) as r:
                    return json.load(r)["webSocketDebuggerUrl"]
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise CDPError(f"chromium's DevTools endpoint did not come up: {last}")

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30.0) -> dict:
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError(f"no answer to {method} within {timeout} s")
            reply = json.loads(self.ws.recv(timeout=left))
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)
                del self.events[:-500]

    def new_page(self, name: str) -> "Page":
        """A page in a new, isolated browser context (its own storage and permissions)."""
        context = self.send("Target.createBrowserContext", {"disposeOnDetach": True})["browserContextId"]
        target = self.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, name)
        page.cmd("Page.enable")
        page.cmd("Runtime.enable")
        return page

    def console_problems(self) -> list[str]:
        """Console errors and warnings, and uncaught exceptions, of every page."""
        out = []
        for e in self.events:
            if e["method"] == "Runtime.exceptionThrown":
                out.append(e["params"]["exceptionDetails"].get("exception", {}).get("description", "exception"))
            elif e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "warning"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
        return out

    def close(self) -> None:
        try:
            self.ws.close()
        except Exception:
            pass
        end_process(self.proc)
        self.log.close()


class Page(PageActions):
    script_error = CDPError

    def __init__(self, browser: Browser, session: str, name: str):
        self.browser = browser
        self.session = session
        self.name = name

    def cmd(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def js(self, expression: str, timeout: float = 30.0):
        """Evaluates an expression (awaiting a promise) with a user gesture; returns its JSON value."""
        r = self.cmd("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True,
                                          "userGesture": True, "timeout": int(timeout * 1000)}, timeout=timeout + 5)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError(f"{self.name}: {expression[:120]!r} threw: {d.get('exception', {}).get('description', d)}")
        return r["result"].get("value")

    def add_init_script(self, source: str) -> None:
        """Runs `source` in every document this page loads from now on, before the page's own scripts."""
        self.cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def navigate(self, url: str, ready: str = "document.readyState === 'complete'", timeout: float = 30.0) -> None:
        self.cmd("Page.navigate", {"url": url})
        self.wait(ready, timeout, f"{url} to load")

    def press(self, key: str) -> None:
        """Presses and releases one key: a letter, or "Tab", "Enter", "Space"."""
        named = {"Tab": ("Tab", "Tab", 9, ""), "Enter": ("Enter", "Enter", 13, "\r"), "Space": (" ", "Space", 32, " ")}
        name, code, vk, text = named.get(key, (key, f"Key{key.upper()}", ord(key.upper()), key))
        down = {"type": "keyDown", "key": name, "code": code, "windowsVirtualKeyCode": vk}
        if text:
            down["text"] = text
        self.cmd("Input.dispatchKeyEvent", down)
        self.cmd("Input.dispatchKeyEvent", {"type": "keyUp", "key": name, "code": code, "windowsVirtualKeyCode": vk})

    def screenshot(self, path: Path, width: int | None = None, height: int | None = None, mobile: bool = False) -> Path:
        if width:
            self.cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1,
                                                            "mobile": mobile})
            self.cmd("Emulation.setTouchEmulationEnabled", {"enabled": mobile, "maxTouchPoints": 5 if mobile else 1})
        # Let layout and paint settle at the new size (a capture straight after a resize can miss
        # parts of the page beyond the viewport).
        self.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
        try:
            data = self.cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})["data"]
        finally:
            if width:
                self.cmd("Emulation.clearDeviceMetricsOverride")
                self.cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
        path.write_bytes(base64.b64decode(data))
        return path
