"""An X virtual framebuffer (Debian's `xvfb`) for a browser that needs a screen: Firefox captures a
screen for getDisplayMedia only when it is not headless (headless, it finds no screen to share and
rejects with NotFoundError). Xvfb picks a free display number itself (`-displayfd`), so test runs
side by side never share a display; it is ended by its own PID."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

from vrtest import end_process


def xvfb_path() -> str | None:
    return shutil.which("Xvfb")


class VirtualDisplay:
    """One Xvfb server with one screen of `size` (WIDTHxHEIGHTxDEPTH); `display` is its name
    (":N") for the DISPLAY variable of the programs shown on it."""

    def __init__(self, workdir: Path, binary: str, size: str = "1280x800x24", timeout: float = 15.0):
        self.log = open(workdir / "xvfb.log", "wb")
        read_end, write_end = os.pipe()
        try:
            self.proc = subprocess.Popen([binary, "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
                                         pass_fds=(write_end,), stdout=self.log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        finally:
            os.close(write_end)
        try:
            self.display = ":" + self._read_display(read_end, time.monotonic() + timeout)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(read_end)

    def _read_display(self, fd: int, deadline: float) -> str:
        """Xvfb writes the display number it chose, then a newline, once it accepts clients."""
        got = b""
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"Xvfb did not report its display within the deadline (log: {self.log.name})")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 32)
                if not chunk:
                    raise AssertionError(f"Xvfb exited ({self.proc.poll()}) before reporting a display (log: {self.log.name})")
                got += chunk
        return got.strip().decode()

    def close(self) -> None:
        end_process(self.proc)
        self.log.close()
