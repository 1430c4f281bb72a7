"""Fixtures for the end-to-end tests of the real `vigrelay` and `vigrelay-client` binaries.

Binaries: $VIGRELAY_BIN_DIR (default <repo>/.build/debug); $VIGRELAY_BIN and $VIGRELAY_CLIENT_BIN
override each one. A missing binary fails the tests that need it (it is never a skip).
Run:  python3 -m pytest Tests/e2e -q
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
from pathlib import Path

import pytest

from bidi import Firefox, firefox_path
from cdp import Browser, chromium_path
from tcpforward import TCPForwarder
from vrtest import Binaries, Certs, Relay, make_token
from webdriver import WebKit, webkit_driver_path
from xvfb import VirtualDisplay, xvfb_path

REPO = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("VIGRELAY_BIN_DIR", REPO / ".build" / "debug"))
VIGRELAY = Path(os.environ.get("VIGRELAY_BIN", BIN_DIR / "vigrelay"))
CLIENT = Path(os.environ.get("VIGRELAY_CLIENT_BIN", BIN_DIR / "vigrelay-client"))
MAKE_CERT = REPO / "certs" / "make-dev-cert.sh"

DEFAULT_TEST_TIMEOUT = 180  # seconds; a safety net, every wait inside has its own deadline


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout(seconds): per-test watchdog (default 180 s)")


# Tests that keep the CPU busy for many seconds (the quick benchmark, the fuzzers) and tests whose
# bounds are on lateness (slow links, where a starved forwarder or browser shows as a late frame) are
# marked `one_at_a_time`: they go to one pytest-xdist worker as a group (`--dist loadgroup`,
# scripts/test.sh), so none of them runs beside another. On a busy CI machine a lateness test beside
# a heavy one failed on timing alone. pytest-xdist reports them as `...@one-at-a-time`; leave that
# off to run one by its id.
ONE_AT_A_TIME_GROUP = "one-at-a-time"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups to name the tests
def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("one_at_a_time"):
            item.add_marker(pytest.mark.xdist_group(ONE_AT_A_TIME_GROUP))


RELAY_LOG_LINES_ON_FAILURE = 80


def _shared_relays(item) -> list[Relay]:
    return [v for v in getattr(item, "funcargs", {}).values() if isinstance(v, Relay)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Notes where each shared server's log stands as the test starts (for `pytest_runtest_makereport`)."""
    item.relay_log_from = {p: p.stat().st_size for r in _shared_relays(item) for p in (r.out_path, r.err_path) if p.exists()}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report shows what the shared server logged during it: a failure on a slow CI
    machine can then be understood from its output alone."""
    report = yield
    if report.when == "call" and report.failed:
        for r in _shared_relays(item):
            for path in (r.out_path, r.err_path):
                if not path.exists():
                    continue
                with path.open("rb") as f:
                    f.seek(getattr(item, "relay_log_from", {}).get(path, 0))
                    lines = f.read().decode("utf-8", "replace").splitlines()
                if lines:
                    report.sections.append((f"{path.parent.name}/{path.name} during the test (last {RELAY_LOG_LINES_ON_FAILURE} lines)",
                                            "\n".join(lines[-RELAY_LOG_LINES_ON_FAILURE:])))
    return report


@pytest.fixture(autouse=True)
def _watchdog(request):
    """Fails a test that hangs, in case some wait lacked a deadline."""
    marker = request.node.get_closest_marker("timeout")
    seconds = int(marker.args[0]) if marker else DEFAULT_TEST_TIMEOUT

    def expired(signum, frame):
        pytest.fail(f"test exceeded its {seconds} s watchdog", pytrace=True)

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _need(path: Path, what: str) -> Path:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{what} not found at {path}: build it (swift build) or set VIGRELAY_BIN_DIR", pytrace=False)
    return path


@pytest.fixture(scope="session")
def bins() -> Binaries:
    return Binaries(vigrelay=VIGRELAY, client=CLIENT)


@pytest.fixture(scope="session")
def vigrelay_bin(bins) -> Path:
    return _need(bins.vigrelay, "vigrelay")


@pytest.fixture(scope="session")
def client_bin(bins) -> Path:
    return _need(bins.client, "vigrelay-client")


def _make_certs(directory: Path) -> Certs:
    p = subprocess.run([str(MAKE_CERT), str(directory)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"make-dev-cert.sh failed ({p.returncode}): {p.stderr}{p.stdout}"
    c = Certs(dir=directory, ca=directory / "ca.crt", cert=directory / "server.crt", key=directory / "server.key")
    for f in (c.ca, c.cert, c.key):
        assert f.is_file(), f"make-dev-cert.sh did not make {f}"
    return c


@pytest.fixture(scope="session")
def certs(tmp_path_factory) -> Certs:
    """A CA and a localhost/127.0.0.1 server certificate, made at test time."""
    return _make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="session")
def other_certs(tmp_path_factory) -> Certs:
    """An unrelated CA (for 'wrong CA' checks)."""
    return _make_certs(tmp_path_factory.mktemp("other-certs"))


@pytest.fixture(scope="session")
def ssl_ctx(certs) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(certs.ca))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _check_log_has_no_tokens(relay: Relay) -> None:
    log = relay.log_text()
    leaked = [t for t in relay.secrets_seen if t in log or t.partition(".")[2] in log]
    assert not leaked, (f"{len(leaked)} token(s) issued during the run appear in the server's log "
                        f"({relay.out_path}, {relay.err_path}); tokens must never be written to logs")


@pytest.fixture(scope="session")
def relay(vigrelay_bin, bins, certs, ssl_ctx, tmp_path_factory):
    """One server with default options shared by the tests that each use their own sessions.
    At the end: SIGTERM must exit 0, and no token issued during the run may be in its log."""
    r = Relay(bins, certs, tmp_path_factory.mktemp("relay-shared"), ssl_ctx).start()
    yield r
    rc, _ = r.stop()
    assert rc == 0, f"shared vigrelay exited {rc} on SIGTERM\n{r.log_text()[-2000:]}"
    _check_log_has_no_tokens(r)


@pytest.fixture(scope="session")
def small_relay(vigrelay_bin, bins, certs, ssl_ctx, tmp_path_factory):
    """A server with a 1 MiB message limit and a 1 s hello timeout."""
    r = Relay(bins, certs, tmp_path_factory.mktemp("relay-small"), ssl_ctx,
              extra_args=["--max-message-bytes", "1048576", "--hello-timeout", "1"]).start()
    yield r
    rc, _ = r.stop()
    assert rc == 0, f"small vigrelay exited {rc} on SIGTERM (it serves the abuse tests)\n{r.log_text()[-2000:]}"
    _check_log_has_no_tokens(r)


@pytest.fixture
def relay_factory(vigrelay_bin, bins, certs, ssl_ctx, tmp_path):
    """Starts dedicated servers for one test (flags, restarts, signals); all stopped afterwards."""
    made: list[Relay] = []

    def make(extra_args=(), data_dir=None, name=None, start=True, port=None, env=None) -> Relay:
        r = Relay(bins, certs, tmp_path / (name or f"relay{len(made)}"), ssl_ctx,
                  data_dir=data_dir, extra_args=list(extra_args), port=port, env=env)
        made.append(r)
        return r.start() if start else r

    yield make
    for r in made:
        r.kill()


@pytest.fixture
def forwarders(relay):
    """Makes TCP forwarders (tcpforward.py) to the shared relay's port; all closed after the test."""
    made: list[TCPForwarder] = []

    def make(name: str, **options) -> TCPForwarder:
        fwd = TCPForwarder(relay.port, name, **options)
        made.append(fwd)
        return fwd

    yield make
    for fwd in made:
        fwd.close()


@pytest.fixture
def blank(relay, chromium):
    """A Chromium page on the relay's origin (the family's page, not joined), to run the web app's
    pure modules in a browser's engine: `blank.js("... await import('/app/uplink.js') ...")`."""
    page = chromium.new_page("blank")
    page.navigate(relay.base_url + "/join")
    return page


@pytest.fixture(scope="session")
def forged_token(vigrelay_bin, bins, tmp_path_factory) -> str:
    """A well-formed practitioner token for 'alice' signed with another server's secret."""
    return make_token(bins, tmp_path_factory.mktemp("other-secret"), "alice")


def _browser(tmp_path, binary: str | None, package: str, driver):
    """A browser driver started on `binary` (fails, saying what to install, when it is missing);
    closed after the test."""
    if binary is None:
        pytest.fail(f"{package} not found: apt-get install {package} (scripts/test.sh installs it)", pytrace=False)
    b = driver(tmp_path, binary)
    yield b
    b.close()


@pytest.fixture
def chromium(tmp_path):
    """Headless Chromium with its fake camera, driven over the DevTools protocol (cdp.py)."""
    yield from _browser(tmp_path, chromium_path(), "chromium", Browser)


@pytest.fixture
def firefox(tmp_path):
    """Headless Firefox ESR with its fake camera, driven over WebDriver BiDi (bidi.py)."""
    yield from _browser(tmp_path, firefox_path(), "firefox-esr", Firefox)


@pytest.fixture
def webkit(tmp_path):
    """WebKitGTK (Safari's engine) with its mock camera on its own Xvfb display, driven over W3C
    WebDriver (webdriver.py)."""
    yield from _browser(tmp_path, webkit_driver_path(), "webkit2gtk-driver", WebKit)


@pytest.fixture
def firefox_on_display(tmp_path):
    """Firefox ESR as `firefox`, but not headless: shown on its own X virtual framebuffer (Xvfb), so
    that it can share a screen (getDisplayMedia). Firefox, then Xvfb, ended after the test."""
    if xvfb_path() is None:
        pytest.fail("Xvfb not found: apt-get install xvfb (scripts/test.sh installs it)", pytrace=False)
    screen = VirtualDisplay(tmp_path, xvfb_path())
    try:
        yield from _browser(tmp_path, firefox_path(), "firefox-esr", lambda d, b: Firefox(d, b, display=screen.display))
    finally:
        screen.close()


@pytest.fixture
def shots(tmp_path):
    """A directory for a browser test's screenshots, copied to $VIGRELAY_SCREENSHOTS (if set) at the end."""
    out = tmp_path / "screenshots"
    out.mkdir()
    yield out
    target = os.environ.get("VIGRELAY_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for png in out.glob("*.png"):
            shutil.copy(png, Path(target) / png.name)
