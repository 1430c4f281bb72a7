"""SIGHUP makes the relay read its certificate and key again, so a renewed certificate is served
without a restart: new connections get it, calls already open go on. A pair that cannot be served
(another certificate's key, not PEM, missing, expired, behind a passphrase, of another type) is
refused with a message saying what to do, and the certificate in use stays; one expiring within
two weeks is warned about. The SIGHUP of a terminal hanging up still stops a server started from it
(or not, under nohup), one sent while the server starts does not end it, and
deploy/certbot-deploy-hook installs a renewal and reloads the relay."""
import grp
import json
import os
import pty
import shutil
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from vrtest import (CAMERA, F_KEY, SCREEN, Certs, Relay, free_port, https_request, media_frame, patterned, run,
                    serve_refused, wait_until)

RELOADED = "TLS certificate reloaded"
NOT_RELOADED = "TLS certificate not reloaded"


def _live(tmp_path: Path, source: Certs) -> Certs:
    """A copy of `source`'s certificate and key where a test can replace them, as a renewal would."""
    live = tmp_path / "live"
    live.mkdir()
    certs = Certs(dir=live, ca=source.ca, cert=live / "server.crt", key=live / "server.key")
    _install(certs, source.cert, source.key)
    return certs


def _install(live: Certs, cert: Path, key: Path) -> None:
    shutil.copyfile(cert, live.cert)
    shutil.copyfile(key, live.key)


def _trusting(*cas: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cas[0]))
    for ca in cas[1:]:
        ctx.load_verify_locations(cafile=str(ca))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _unverified() -> ssl.SSLContext:
    """Trusts any certificate: for looking at which one is served."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _served(port: int) -> bytes:
    """The certificate a new TLS connection is given (DER), whoever signed it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, _unverified().wrap_socket(raw) as tls:
        return tls.getpeercert(binary_form=True)


def _der(cert: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.read_text())


def _not_after(cert: Path) -> float:
    p = run(["openssl", "x509", "-noout", "-enddate", "-in", cert])
    assert p.returncode == 0, p.stderr
    return float(ssl.cert_time_to_seconds(p.stdout.strip().partition("=")[2]))


def _fingerprint(cert: Path) -> str:
    p = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert])
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().partition("=")[2]


def _reload(relay: Relay, outcome: str, before: int) -> str:
    """Sends SIGHUP and waits for the log to say `outcome` once more than `before` times; returns the log."""
    relay.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: relay.log_text().count(outcome) > before, 10, f"the relay to log '{outcome}' after SIGHUP")
    return relay.log_text()


def _reloads(relay: Relay, token: str) -> tuple[float, float, float]:
    m = relay.metrics(token)
    return (m['vigrelay_tls_certificate_reloads_total{result="loaded"}'],
            m['vigrelay_tls_certificate_reloads_total{result="failed"}'],
            m["vigrelay_tls_certificate_expiry_timestamp_seconds"])


def _relays_both_ways(p, f, seq: int) -> None:
    camera = media_frame(CAMERA, F_KEY, seq, seq, patterned(20_000, seq))
    f.send_bytes(camera)
    assert p.recv_binary(timeout=10) == camera
    screen = media_frame(SCREEN, F_KEY, seq, seq, patterned(9_000, seq + 1))
    p.send_bytes(screen)
    assert f.recv_binary(timeout=10) == screen


@pytest.fixture
def expired(tmp_path) -> Certs:
    """A certificate and key that expired on 2020-01-02, from a throwaway CA (`openssl ca` sets past dates)."""
    d = tmp_path / "expired"
    d.mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text("01\n")
    (d / "ca.cnf").write_text("[ca]\ndefault_ca = dev\n[dev]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
                              "default_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    for cmd in (["openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=expired test CA", "-days", "2"],
                ["openssl", "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
                ["openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "server.csr",
                 "-out", "server.crt", "-notext", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z"]):
        p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, f"{' '.join(cmd)}: {p.stderr}"
    return Certs(dir=d, ca=d / "ca.crt", cert=d / "server.crt", key=d / "server.key")


def test_sighup_serves_a_renewed_certificate_to_new_connections_and_open_calls_go_on(bins, certs, other_certs, tmp_path):
    live = _live(tmp_path, certs)
    relay = Relay(bins, live, tmp_path / "relay", _trusting(certs.ca, other_certs.ca)).start()
    try:
        assert _served(relay.port) == _der(certs.cert)
        metrics = relay.metrics_token()
        assert _reloads(relay, metrics) == (0, 0, _not_after(certs.cert))
        p, f, _ = relay.pair()
        _relays_both_ways(p, f, 1)

        _install(live, other_certs.cert, other_certs.key)  # the renewal: another certificate and key
        log = _reload(relay, RELOADED, 0)
        assert _fingerprint(other_certs.cert) in log, "the log names the certificate now served by its SHA-256"
        assert _served(relay.port) == _der(other_certs.cert), "a new connection gets the renewed certificate"
        with pytest.raises(ssl.SSLCertVerificationError):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as raw:
                _trusting(certs.ca).wrap_socket(raw, server_hostname="localhost")
        assert _reloads(relay, metrics) == (1, 0, _not_after(other_certs.cert))

        _relays_both_ways(p, f, 2)  # the call that began with the old certificate goes on
        p2, f2, _ = relay.pair()  # and a new one, on the new certificate, works end to end
        _relays_both_ways(p2, f2, 3)
        for ws in (p, f, p2, f2):
            ws.close()
    finally:
        rc, _ = relay.stop()
    assert rc == 0, f"vigrelay exited {rc} on SIGTERM after a reload\n{relay.log_text()[-2000:]}"


BAD_PAIRS = {
    # name: (what to install given (certs, other_certs, expired, tmp_path) -> (cert, key or None), what the log says)
    "another certificate's key": (lambda c, o, e, t: (o.cert, c.key), "is not the private key of the certificate in"),
    "a certificate that is not PEM": (lambda c, o, e, t: (_write(t / "garbage.crt", "not a certificate\n"), o.key),
                                      "no certificate could be read from"),
    "a certificate as the key": (lambda c, o, e, t: (o.cert, o.cert), "no private key could be read from"),
    "a key behind a passphrase": (lambda c, o, e, t: (o.cert, _encrypted(o.key, t)), "no private key could be read from"),
    "no key": (lambda c, o, e, t: (o.cert, None), "TLS key not found at"),
    "an expired certificate": (lambda c, o, e, t: (e.cert, e.key), "the certificate expired at 2020-01-02T00:00:00Z: renew it"),
    "an RSA key where an EC key is served": (lambda c, o, e, t: _rsa(t), "the new certificate's key is RSA and the one in use EC: restart"),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _rsa(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate with an RSA key (make-dev-cert.sh makes EC ones)."""
    cert, key = tmp_path / "rsa.crt", tmp_path / "rsa.key"
    p = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
             "-subj", "/CN=localhost", "-days", "2"])
    assert p.returncode == 0, p.stderr
    return cert, key


def _encrypted(key: Path, tmp_path: Path) -> Path:
    out = tmp_path / "encrypted.key"
    p = run(["openssl", "pkey", "-in", key, "-aes-128-cbc", "-passout", "pass:secret", "-out", out])
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("bad", list(BAD_PAIRS))
def test_a_pair_that_cannot_be_served_is_refused_and_the_certificate_in_use_stays(bad, bins, certs, other_certs,
                                                                                  expired, tmp_path):
    live = _live(tmp_path, certs)
    relay = Relay(bins, live, tmp_path / "relay", _trusting(certs.ca, other_certs.ca)).start()
    try:
        metrics = relay.metrics_token()
        p, f, _ = relay.pair()
        make, message = BAD_PAIRS[bad]
        cert, key = make(certs, other_certs, expired, tmp_path)
        shutil.copyfile(cert, live.cert)
        if key is None:
            live.key.unlink()
        else:
            shutil.copyfile(key, live.key)

        log = _reload(relay, NOT_RELOADED, 0)
        refusal = next(line for line in log.splitlines() if NOT_RELOADED in line)
        assert message in refusal, f"expected '{message}' in the refusal: {refusal}"
        stops_start = "would not start with them" in refusal
        assert stops_start == (bad not in ("an expired certificate", "an RSA key where an EC key is served")), \
            f"the refusal says whether a restart with these files would fail: {refusal}"
        assert _served(relay.port) == _der(certs.cert), "the certificate in use stays"
        assert _reloads(relay, metrics) == (0, 1, _not_after(certs.cert))
        _relays_both_ways(p, f, 1)

        _install(live, other_certs.cert, other_certs.key)  # the operator mends it and sends SIGHUP again
        _reload(relay, RELOADED, 0)
        assert _served(relay.port) == _der(other_certs.cert)
        assert _reloads(relay, metrics) == (1, 1, _not_after(other_certs.cert))
        _relays_both_ways(p, f, 2)
        p.close()
        f.close()
    finally:
        rc, _ = relay.stop()
    assert rc == 0, f"vigrelay exited {rc} on SIGTERM\n{relay.log_text()[-2000:]}"


def test_a_key_that_is_not_the_certificates_stops_the_start_with_a_clear_message(vigrelay_bin, certs, other_certs, tmp_path):
    p = serve_refused(vigrelay_bin, tmp_path / "data", "--cert", str(other_certs.cert), "--key", str(certs.key))
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert f"the key in {certs.key} is not the private key of the certificate in {other_certs.cert}" in p.stderr, p.stderr


def test_a_certificate_that_expires_within_two_weeks_is_warned_about_at_start_and_at_a_reload(bins, certs, tmp_path):
    """Self-signed for 3 days: the log says how many days are left and what to do; one with 825
    days (make-dev-cert.sh's) is not warned about."""
    short = tmp_path / "short"
    short.mkdir()
    p = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", short / "server.key", "-out", short / "server.crt", "-subj", "/CN=localhost", "-days", "3"])
    assert p.returncode == 0, p.stderr
    warning = "TLS certificate expires in 2 days: renew it, then reload the relay (SIGHUP, systemctl reload vigrelay)"
    live = _live(tmp_path, certs)
    relay = Relay(bins, live, tmp_path / "relay", _unverified()).start()
    try:
        assert "TLS certificate expires in" not in relay.log_text()
        _install(live, short / "server.crt", short / "server.key")
        log = _reload(relay, RELOADED, 0)
        assert warning in log
        relay.stop()
        relay.start()
        assert relay.log_text().count(warning) == 2, "warned again at the next start"
    finally:
        rc, _ = relay.stop()
    assert rc == 0


def test_an_expired_certificate_at_start_is_served_with_a_warning(bins, expired, tmp_path):
    relay = Relay(bins, expired, tmp_path / "relay", _unverified()).start()  # it has expired: only readiness is checked
    try:
        assert _served(relay.port) == _der(expired.cert)
        assert "TLS certificate cannot be trusted now: the certificate expired at 2020-01-02T00:00:00Z: renew it" in relay.log_text()
    finally:
        rc, _ = relay.stop()
    assert rc == 0


class _OnTerminal:
    """`vigrelay serve` started on a terminal of its own (a pty, as from a shell window), its output
    in a file. Closing the terminal's master side is the window closing: the kernel hangs the
    terminal up and sends SIGHUP."""

    def __init__(self, vigrelay: Path, live: Certs, tmp_path: Path, ssl_ctx: ssl.SSLContext, sighup_ignored: bool):
        self.port = free_port()
        self.log = tmp_path / "serve.log"
        args = [str(vigrelay), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(tmp_path / "data"),
                "--cert", str(live.cert), "--key", str(live.key)]
        self.pid, self.master = pty.fork()
        if self.pid == 0:  # the child: only system calls until exec
            out = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, 1)
            os.dup2(out, 2)
            if sighup_ignored:
                signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what nohup does
            os.execv(args[0], args)
        self.status = None
        wait_until(lambda: self._healthy(ssl_ctx), 30, "the relay on its terminal to answer /healthz")

    def _healthy(self, ssl_ctx) -> bool:
        assert self.exited() is None, f"vigrelay exited {self.status}: {self.text()}"
        try:
            return https_request(self.port, "GET", "/healthz", ssl_ctx, timeout=2).status == 200
        except (OSError, ssl.SSLError):
            return False

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def exited(self):
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def hang_up(self) -> None:
        os.close(self.master)
        self.master = None

    def end(self) -> None:
        if self.master is not None:
            os.close(self.master)
        if self.exited() is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def test_when_the_terminal_it_was_started_from_goes_away_the_server_stops_as_before(bins, certs, ssl_ctx, tmp_path):
    served = _OnTerminal(bins.vigrelay, _live(tmp_path, certs), tmp_path, ssl_ctx, sighup_ignored=False)
    try:
        served.hang_up()
        wait_until(lambda: served.exited() is not None, 15, "the relay to stop after its terminal hung up")
        assert served.status == 0, served.text()
        assert "the terminal the server was started from went away (SIGHUP): stopping" in served.text()
        assert RELOADED not in served.text()
    finally:
        served.end()


def test_under_nohup_it_carries_on_when_its_terminal_goes_away_and_sighup_then_reloads(bins, certs, other_certs, tmp_path):
    live = _live(tmp_path, certs)
    served = _OnTerminal(bins.vigrelay, live, tmp_path, _trusting(certs.ca), sighup_ignored=True)
    try:
        served.hang_up()
        wait_until(lambda: "it carries on" in served.text(), 15, "the relay to say it carries on after its terminal hung up")
        assert served.exited() is None
        assert _served(served.port) == _der(certs.cert)

        _install(live, other_certs.cert, other_certs.key)
        os.kill(served.pid, signal.SIGHUP)  # the operator's, after the hangup: a reload
        wait_until(lambda: RELOADED in served.text(), 10, "the relay to reload its certificate")
        assert _served(served.port) == _der(other_certs.cert)
        os.kill(served.pid, signal.SIGTERM)
        wait_until(lambda: served.exited() is not None, 15, "the relay to stop on SIGTERM")
        assert served.status == 0, served.text()
    finally:
        served.end()


def test_a_reload_asked_for_while_the_server_starts_does_not_stop_it(bins, certs, ssl_ctx, tmp_path):
    """SIGHUP while the relay still reads its sessions (certbot's hook running `systemctl reload` as
    the relay restarts) is ignored instead of ending it: SIGHUP's default action would, and systemd
    counts that a clean stop and would not restart it. 3,000 stored sessions make the start long
    enough to hit; the signals go from the first line the relay logs until it answers."""
    sessions = tmp_path / "data" / "sessions"
    for i in range(3000):
        sid = f"{i:032x}"
        (sessions / sid).mkdir(parents=True)
        (sessions / sid / "session.json").write_text(json.dumps({
            "id": sid, "owner": "alice", "createdAt": "2026-01-01T00:00:00Z", "inviteExpiresAt": "2026-01-08T00:00:00Z"}))
        (sessions / sid / "session.jsonl").write_text('{"time":"2026-01-01T00:00:00.000Z","event":"created"}\n')
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(bins.vigrelay), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(tmp_path / "data"),
                                 "--cert", str(certs.cert), "--key", str(certs.key)], stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or log.read_bytes().count(b"\n") > 0, 30, "the relay's first log line")
        sent, deadline = 0, time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            proc.send_signal(signal.SIGHUP)
            sent += 1
            try:
                if https_request(port, "GET", "/healthz", ssl_ctx, timeout=0.2).status == 200:
                    break
            except (OSError, ssl.SSLError, AssertionError):
                pass
            time.sleep(0.005)  # pacing: about 200 signals a second, not a wait for anything
        text = log.read_text(errors="replace")
        assert proc.poll() is None, f"the relay ended ({proc.returncode}) after {sent} SIGHUPs while starting:\n{text[-2000:]}"
        assert "count=3000" in text and sent > 1, (sent, text[-2000:])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


HOOK = Path(__file__).resolve().parents[2] / "deploy" / "certbot-deploy-hook"


def test_the_certbot_deploy_hook_installs_a_renewal_that_the_relay_then_serves(bins, certs, other_certs, tmp_path):
    """deploy/certbot-deploy-hook as certbot runs it after a renewal (RENEWED_LINEAGE): the new
    certificate and key land where the relay reads them, readable by its group only, and the relay,
    reloaded, serves them while the call under way goes on. A lineage without its key, or with
    another certificate's, installs nothing; without RENEWED_LINEAGE it says how to run it."""
    live = _live(tmp_path, certs)  # /etc/vigrelay in deploy/README.md's layout
    relay = Relay(bins, live, tmp_path / "relay", _trusting(certs.ca, other_certs.ca)).start()
    try:
        lineage = tmp_path / "letsencrypt" / "live" / "relay.example.org"
        lineage.mkdir(parents=True)
        shutil.copyfile(other_certs.cert, lineage / "fullchain.pem")
        env = dict(os.environ, RENEWED_LINEAGE=str(lineage), VIGRELAY_CERT_DIR=str(live.dir),
                   VIGRELAY_GROUP=grp.getgrgid(os.getgid()).gr_name, VIGRELAY_RELOAD=f"kill -HUP {relay.proc.pid}")
        without_key = run([HOOK], env=env)
        assert without_key.returncode == 1 and "privkey.pem cannot be read; nothing installed" in without_key.stderr, without_key
        assert live.cert.read_bytes() == certs.cert.read_bytes() and RELOADED not in relay.log_text()
        shutil.copyfile(certs.key, lineage / "privkey.pem")  # another certificate's key
        mismatched = run([HOOK], env=env)
        assert mismatched.returncode == 1 and "is not the key of" in mismatched.stderr, mismatched
        assert live.key.read_bytes() == certs.key.read_bytes() and live.cert.read_bytes() == certs.cert.read_bytes()
        no_lineage = run([HOOK], env={k: v for k, v in env.items() if k != "RENEWED_LINEAGE"})
        assert no_lineage.returncode != 0 and "certbot sets RENEWED_LINEAGE" in no_lineage.stderr, no_lineage

        p, f, _ = relay.pair()
        shutil.copyfile(other_certs.key, lineage / "privkey.pem")
        done = run([HOOK], env=env)
        assert done.returncode == 0 and "reloaded the relay" in done.stdout, done
        wait_until(lambda: RELOADED in relay.log_text(), 10, "the relay to reload after the hook")
        assert _served(relay.port) == _der(other_certs.cert)
        assert {path.name: path.stat().st_mode & 0o777 for path in live.dir.iterdir()} == {"server.crt": 0o640, "server.key": 0o640}, \
            "the two files, group-readable only, and nothing left half-written"
        _relays_both_ways(p, f, 1)
        p.close()
        f.close()
    finally:
        rc, _ = relay.stop()
    assert rc == 0
