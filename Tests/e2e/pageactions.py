"""What a test does on a page, the same in every browser driver (cdp.Page, bidi.Page): wait for a
condition, click, read text. A driver supplies `js(expression, timeout)`, `name`, and the error its
`js` raises when the page's script throws (`script_error`)."""

from __future__ import annotations

import json
import time


class PageActions:
    script_error: type[Exception] = AssertionError
    name: str

    def js(self, expression: str, timeout: float = 30.0):  # pragma: no cover - each driver has its own
        raise NotImplementedError

    def wait(self, expression: str, timeout: float, what: str, interval: float = 0.1):
        """Polls a JavaScript condition until it is truthy; fails with `what` at the deadline."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.js(expression, timeout=10)
            except self.script_error as e:
                last = str(e)
            else:
                if last:
                    return last
            time.sleep(interval)
        raise AssertionError(f"{self.name}: timed out after {timeout} s waiting for {what} ({expression!r} was {last!r})")

    def click(self, selector: str) -> None:
        ok = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)}); "
                     f"if (!e || e.disabled) return false; e.click(); return true; }})()")
        if not ok:
            raise AssertionError(f"{self.name}: {selector} is missing or disabled")

    def text(self, selector: str) -> str:
        return self.js(f"document.querySelector({json.dumps(selector)})?.textContent ?? ''")
