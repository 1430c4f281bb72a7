"""The server process: shutdown on SIGTERM/SIGINT, persistence across restarts, the secret file,
tokens kept out of logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import threading

import pytest

from vrtest import assert_error, free_port, make_token, media_frame, CAMERA, F_KEY, forge, wait_until, ws_path
from wsraw import RawWebSocket


def _watch(fn):
    """Runs fn (a blocking read until the close) on a thread, so clients keep reading and answer
    the close handshake at once while the server shuts down, as real clients do."""
    box = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as e:  # reported by the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def result(timeout=10):
        t.join(timeout)
        assert not t.is_alive(), "client still waiting for the close"
        if "error" in box:
            raise box["error"]
        return box["result"]
    return result


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_closes_every_connection_with_1001_and_exits_0(relay_factory, ssl_ctx, sig):
    relay = relay_factory()
    p, f, s = relay.pair()
    pending = RawWebSocket.connect("127.0.0.1", relay.port, ws_path(s["sessionId"]), ssl_ctx)  # no hello yet
    assert pending.status == 101
    wait_until(lambda: relay.http("GET", "/healthz").json()["connections"] == 3, 5, "3 connections")
    watchers = {"practitioner": _watch(lambda: p.expect_close(timeout=10)),
                "family": _watch(lambda: f.expect_close(timeout=10))}
    pending_watch = _watch(lambda: pending.recv_until_close(timeout=10))
    rc, elapsed = relay.stop(sig, timeout=5)
    assert rc == 0, f"exit status after {signal.Signals(sig).name}: {rc} (None: still running after 5 s)\n{relay.log_text()[-2000:]}"
    assert elapsed <= 5, f"took {elapsed:.1f} s to exit"
    for name, w in watchers.items():
        got, code = w()
        assert code == 1001, f"{name}: expected close 1001 on shutdown, got {code} (messages {got})"
    got, close = pending_watch()
    assert close is not None and close.code == 1001, f"connection awaiting hello: expected 1001, got {close} after {got}"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", relay.port), timeout=2).close()


def test_sigterm_when_idle_exits_0_quickly(relay_factory):
    relay = relay_factory()
    rc, elapsed = relay.stop(signal.SIGTERM, timeout=5)
    assert rc == 0 and elapsed < 5, (rc, elapsed)


def test_shutdown_during_a_media_burst(relay_factory):
    """Frames still queued for a (reading) viewer do not keep it from getting 1001 in time."""
    relay = relay_factory()
    p, f, _ = relay.pair()
    watch_p = _watch(lambda: p.expect_close(timeout=15))
    for i in range(40):
        f.send_bytes(media_frame(CAMERA, F_KEY, i, i, os.urandom(200_000)))
    rc, elapsed = relay.stop(signal.SIGTERM, timeout=5)
    assert rc == 0, f"exit {rc} after {elapsed:.1f} s"
    got, code = watch_p()
    assert code == 1001, f"viewer: expected close 1001, got {code} after {len(got)} frames"


def test_sessions_survive_a_restart(relay_factory):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok, {"caseRef": "fam-7", "cycle": 2, "purpose": "review"})
    rc, _ = relay.stop(signal.SIGTERM)
    assert rc == 0
    relay.start()  # same data dir, same port
    sid = s["sessionId"]
    f, welcome = relay.join(sid, s["inviteToken"], "family", role="family", peer_present=False)
    p, welcome = relay.join(sid, tok, "practitioner", role="practitioner", peer_present=True)
    assert f.recv_json() == {"type": "peer", "event": "joined", "role": "practitioner"}
    fr = media_frame(CAMERA, F_KEY, 1, 0, b"after restart")
    f.send_bytes(fr)
    assert p.recv_binary() == fr
    p.close()
    f.close()
    # The owner is remembered too: another practitioner is still refused.
    ws = relay.connect(sid, "bob")
    ws.send_json({"type": "hello", "token": relay.token("bob")})
    got, code = ws.expect_close()
    assert got and json.loads(got[0]).get("code") == "forbidden" and code == 1008, (got, code)
    # And old tokens still create sessions (the secret was kept).
    relay.create_session(tok)


def test_session_is_on_disk_before_the_201(relay_factory):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok)
    relay.kill()  # SIGKILL right after the 201: no chance to flush anything later
    relay.start()
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family")
    p, _ = relay.join(s["sessionId"], tok, "practitioner", role="practitioner", peer_present=True)
    p.close()
    f.close()


def test_secret_file_is_created_with_mode_0600(relay_factory):
    relay = relay_factory()
    secret = relay.data_dir / "secret"
    assert secret.is_file(), f"no secret file at {secret}: {sorted(p.name for p in relay.data_dir.iterdir())}"
    mode = stat.S_IMODE(secret.stat().st_mode)
    assert mode == 0o600, f"{secret} has mode {oct(mode)}, expected 0o600"
    assert secret.stat().st_size >= 32
    before = secret.read_bytes()
    relay.stop()
    relay.start()
    assert secret.read_bytes() == before, "the secret must be kept across restarts"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_secret_file_option_and_environment_variable(relay_factory, bins, tmp_path):
    # Make a secret the ordinary way, then share it between two data dirs.
    make_token(bins, tmp_path / "origin", "alice")
    shared = tmp_path / "origin" / "secret"
    tok_env = make_token(bins, tmp_path / "cli-data", "alice", env={**os.environ, "VIGRELAY_SECRET_FILE": str(shared)})
    tok_flag = make_token(bins, tmp_path / "cli-data2", "alice", extra=["--secret-file", shared])
    relay = relay_factory(["--secret-file", str(shared)], data_dir=tmp_path / "server-data")
    relay.secrets_seen |= {tok_env, tok_flag}
    relay.create_session(tok_env)
    relay.create_session(tok_flag)
    relay.stop()
    relay2 = relay_factory(data_dir=tmp_path / "server-data2", env={**os.environ, "VIGRELAY_SECRET_FILE": str(shared)})
    relay2.create_session(tok_env)
    # A token from the default secret of another data dir is refused by these servers.
    other = make_token(bins, tmp_path / "unrelated", "alice")
    assert relay2.post_sessions(other).status == 401


def test_a_secret_file_others_may_read_is_refused(vigrelay_bin, certs, tmp_path):
    """A --secret-file that group or others may read would let them sign tokens: the server and the
    token command refuse it and say what to do; the data directory's own secret is tightened instead."""
    secret = tmp_path / "shared-secret"
    secret.write_text("ab" * 32 + "\n")
    secret.chmod(0o644)
    for args in (["serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(tmp_path / "d1"),
                  "--cert", str(certs.cert), "--key", str(certs.key)],
                 ["token", "practitioner", "--id", "alice", "--data-dir", str(tmp_path / "d2")]):
        out = subprocess.run([str(vigrelay_bin), *args, "--secret-file", str(secret)], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)
        assert out.returncode != 0 and f"chmod 600 {secret}" in out.stderr and "mode 644" in out.stderr, (args, out.stderr)
    secret.chmod(0o600)
    ok = subprocess.run([str(vigrelay_bin), "token", "practitioner", "--id", "alice", "--data-dir", str(tmp_path / "d2"),
                         "--secret-file", str(secret)], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert ok.returncode == 0, ok.stderr


def test_expired_invite_is_unauthorized(relay_factory):
    """Invites expire (`expiresAt`); `--invite-ttl` (a server option) makes that testable."""
    relay = relay_factory(["--invite-ttl", "2s"])
    s = relay.create_session(relay.token("alice"))
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family")
    f.close()

    def attempt():
        ws = relay.connect(s["sessionId"], "family-late")
        ws.send_json({"type": "hello", "token": s["inviteToken"]})
        first = ws.recv_json()
        if first.get("type") == "welcome":
            ws.close()
            return None
        _, code = ws.expect_close()
        return first, code

    first, code = wait_until(attempt, 8, "the 2 s invite to expire", interval=0.2)
    assert first.get("type") == "error" and first.get("code") == "unauthorized", first
    assert code == 1008, code


@pytest.mark.parametrize("level", ["info", "trace"])
def test_tokens_never_appear_in_logs(relay_factory, forged_token, level, ssl_ctx):
    relay = relay_factory(["--log-level", level])
    tok = relay.token("alice")
    bob = relay.token("bob")
    s = relay.create_session(tok, {"caseRef": "fam-1", "cycle": 3})
    # The refusals must really happen, or "no token in the log" would hold for nothing.
    assert_error(relay.post_sessions(s["inviteToken"]), 403, "forbidden")
    assert_error(relay.post_sessions(forged_token), 401, "unauthorized")
    assert_error(relay.post_sessions(forge(tok)), 401, "unauthorized")
    p, _ = relay.join(s["sessionId"], tok, "p")
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "f")
    for bad in (bob, forged_token, forge(s["inviteToken"])):
        ws = relay.connect(s["sessionId"], "bad")
        ws.send_json({"type": "hello", "token": bad})
        got, code = ws.expect_close()
        assert code == 1008 and got and ('"unauthorized"' in got[0] or '"forbidden"' in got[0]), (got, code)
    f.send_json({"type": "hello", "token": s["inviteToken"]})  # unexpected_hello
    f.recv_error("unexpected_hello")
    p.close()
    f.close()
    relay.stop()
    log = relay.log_text()
    assert log.strip(), "the server wrote no log at all; this check needs something to look at"
    for name, t in [("practitioner token", tok), ("other practitioner token", bob), ("invite", s["inviteToken"]),
                    ("forged token", forged_token)]:
        sig = t.partition(".")[2]
        assert t not in log, f"the {name} appears in the server log ({level})"
        assert sig not in log, f"the signature of the {name} appears in the server log ({level})"
    assert "Bearer " + tok[:10] not in log


def _listening_on(port: int) -> list[str]:
    """The local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6 (hex, as
    the kernel writes them: 0100007F is 127.0.0.1, 00000000 is every IPv4 interface)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.append(address)
    return found


def test_listen_on_loopback_listens_on_loopback_only(relay_factory):
    """`--listen 127.0.0.1:PORT` (what every test uses, and the default) must not be reachable from
    the network: lws 4.1 once bound such a server to [::], every interface."""
    relay = relay_factory()
    assert _listening_on(relay.port) == ["0100007F"], \
        f"the relay listens on {_listening_on(relay.port)} (hex, from /proc/net), not on 127.0.0.1 alone"


def test_threads_carry_their_names(relay_factory):
    """Operators tell the relay's threads apart by name (`top -H`, `ps -L`, `perf --per-thread`):
    the service thread, the disk writer and the HTTP reader, as docs/ARCHITECTURE.md names them."""
    relay = relay_factory()
    expected = {"vigrelay-lws", "vigrelay-disk", "vigrelay-reader"}

    def names():
        found = set()
        for task in os.listdir(f"/proc/{relay.proc.pid}/task"):
            try:
                with open(f"/proc/{relay.proc.pid}/task/{task}/comm") as f:
                    found.add(f.read().strip())
            except FileNotFoundError:  # a thread that just ended
                pass
        return found

    wait_until(lambda: expected <= names(), 10, f"threads named {sorted(expected)} (found {sorted(names())})")


def test_a_second_relay_on_the_same_data_directory_is_refused_and_the_lock_goes_with_the_process(relay_factory):
    """Two relays on one data directory would each keep their own sessions, and the second would
    take the first one's running recording for a crash's leftover and cut it at its start: it is
    refused before it touches anything, naming the relay that holds the directory. The kernel lets
    go of the lock when that relay ends, also on kill -9, so a restart is never blocked."""
    from pathlib import Path
    from vrtest import give_consent, run, send_camera, start_recording, stop_recording
    from test_recording import FIXTURE
    first = relay_factory()
    p, f, s = first.pair()
    give_consent(p, f)
    rid = start_recording(p, f)
    data = FIXTURE.read_bytes()
    send_camera(p, f, data[:6000])
    manifest = Path(first.data_dir) / "sessions" / s["sessionId"] / "recordings" / f"{rid}.json"
    wait_until(manifest.exists, 10, "the disk writer to open the recording")

    second = run([first.bins.vigrelay, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", first.data_dir,
                  "--cert", first.certs.cert, "--key", first.certs.key], timeout=30)
    assert second.returncode == 2, second
    assert f"another vigrelay serve (pid {first.proc.pid}) is using the data directory {first.data_dir}" in second.stderr, second.stderr
    assert "--data-dir of its own" in second.stderr
    assert json.loads(manifest.read_text())["state"] == "recording", "the refused relay cut nothing"
    send_camera(p, f, data[6000:], first_is_init=False)
    assert stop_recording(p, f, rid)["bytes"] == len(data)
    p.close()
    f.close()

    first.kill()  # SIGKILL: no chance to let go by itself
    again = relay_factory(data_dir=first.data_dir)
    assert again.http("GET", f"/v1/sessions/{s['sessionId']}", headers={"Authorization": f"Bearer {again.token()}"}).status == 200
