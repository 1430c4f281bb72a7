"""The command lines: `vigrelay token practitioner` and the headless client `vigrelay-client`
(create, pair, family, practitioner; refused token, unreachable server, bad certificate)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time

import pytest

from tcpforward import TCPForwarder
from vrtest import HEX32, forge, free_port, run, wait_until

# --- vigrelay token ------------------------------------------------------------------------------


def test_token_is_the_last_line_of_stdout_and_creates_the_secret(vigrelay_bin, tmp_path):
    data = tmp_path / "data"
    p = run([vigrelay_bin, "token", "practitioner", "--id", "alice", "--data-dir", data])
    assert p.returncode == 0, p.stderr
    last = p.stdout.rstrip("\n").split("\n")[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", last), f"last line of stdout is not a token: {last!r}"
    secret = data / "secret"
    assert secret.is_file(), "the secret is created on first use"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600, oct(secret.stat().st_mode)
    again = run([vigrelay_bin, "token", "practitioner", "--id", "alice", "--data-dir", data])
    assert again.returncode == 0
    assert secret.stat().st_mode and stat.S_IMODE(secret.stat().st_mode) == 0o600


@pytest.mark.parametrize("ttl,seconds", [("90s", 90), ("15m", 900), ("12h", 43_200), ("30d", 2_592_000), ("1s", 1)])
def test_token_ttl_formats(relay, ttl, seconds):
    before = time.time()
    tok = relay.token("alice", ttl=ttl)
    payload = tok.partition(".")[0]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert before - 1 <= claims["exp"] - seconds <= time.time() + 1, f"{ttl}: expires {claims['exp'] - before:.0f} s after issue"
    if seconds > 1:
        assert relay.post_sessions(tok).status == 201


@pytest.mark.parametrize("pid", ["a", "A.b_c-9", "x" * 64])
def test_token_valid_ids(relay, pid):
    tok = relay.token(pid)
    r = relay.post_sessions(tok)
    assert r.status == 201, r
    relay.secrets_seen.add(r.json()["inviteToken"])


@pytest.mark.parametrize("args", [["--id", ""], ["--id", "x" * 65], ["--id", "Jane Doe"], ["--id", "a/b"],
                                  ["--id", "é"], ["--id", "alice", "--ttl", "10"], ["--id", "alice", "--ttl", "5x"],
                                  ["--id", "alice", "--ttl", "0s"], ["--id", "alice", "--ttl", "-5m"], []],
                         ids=["empty", "65", "space", "slash", "non-ascii", "ttl-no-unit", "ttl-unit", "ttl-zero",
                              "ttl-negative", "no-id"])
def test_token_bad_arguments_fail(vigrelay_bin, tmp_path, args):
    p = run([vigrelay_bin, "token", "practitioner", *args, "--data-dir", tmp_path / "d"])
    assert p.returncode != 0, f"vigrelay token practitioner {args} should fail; printed {p.stdout!r}"
    assert p.stderr.strip(), "a failure should say why on stderr"


# --- vigrelay-client -----------------------------------------------------------------------------

def client(client_bin, *args, timeout=60) -> subprocess.CompletedProcess:
    return run([client_bin, *args], timeout=timeout)


def _fields(stdout: str) -> dict:
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"^\s*(sessionId|inviteToken|joinUrl):\s*(\S+)\s*$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_client_create_prints_session_invite_and_join_url(client_bin, relay, certs):
    tok = relay.token("alice")
    p = client(client_bin, "create", "--server", relay.base_url, "--token", tok, "--ca", certs.ca)
    assert p.returncode == 0, f"create exited {p.returncode}: {p.stderr}"
    fields = _fields(p.stdout)
    assert set(fields) == {"sessionId", "inviteToken", "joinUrl"}, f"create printed: {p.stdout!r}"
    relay.secrets_seen.add(fields["inviteToken"])
    assert HEX32.match(fields["sessionId"]), fields
    assert fields["joinUrl"].startswith(f"https://127.0.0.1:{relay.port}/join#"), fields
    assert fields["inviteToken"] in fields["joinUrl"].split("#", 1)[1]
    # The printed invite and session work.
    f, _ = relay.join(fields["sessionId"], fields["inviteToken"], "family", role="family")
    p_ws, _ = relay.join(fields["sessionId"], tok, "practitioner", role="practitioner", peer_present=True)
    f.close()
    p_ws.close()


def test_client_secret_from_a_file_that_cannot_be_used_is_a_usage_error(client_bin, relay, certs, tmp_path):
    """--token @FILE / --invite @FILE: a file missing or empty is refused before anything is
    sent, naming the file (exit 64)."""
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for option, command in (("--token", "create"), ("--invite", "family")):
        for path, says in ((tmp_path / "missing", "cannot read"), (empty, "is empty")):
            p = client(client_bin, command, "--server", relay.base_url, option, f"@{path}", "--ca", certs.ca)
            assert p.returncode == 64 and says in p.stderr and str(path) in p.stderr, (option, p.returncode, p.stderr)


def test_client_create_insecure(client_bin, relay):
    tok = relay.token("alice")
    p = client(client_bin, "create", "--server", relay.base_url, "--token", tok, "--insecure")
    assert p.returncode == 0, p.stderr
    fields = _fields(p.stdout)
    assert fields.get("sessionId") and fields.get("inviteToken") and fields.get("joinUrl"), p.stdout
    relay.secrets_seen.add(fields["inviteToken"])


@pytest.mark.timeout(120)
def test_client_pair_relays_synthetic_frames(client_bin, relay, certs):
    tok = relay.token("alice")
    t0 = time.monotonic()
    p = client(client_bin, "pair", "--server", relay.base_url, "--token", tok, "--ca", certs.ca,
               "--bitrate", "2.5M", "--fps", "10", "--duration", "3s", timeout=90)
    elapsed = time.monotonic() - t0
    out = p.stdout + p.stderr
    assert p.returncode == 0, f"pair exited {p.returncode}:\n{out}"
    assert re.search(r"frames", out, re.I), f"pair should print the frame count:\n{out}"
    assert re.search(r"latency", out, re.I), f"pair should print latency percentiles:\n{out}"
    assert re.search(r"p50|p99|percentile", out, re.I), f"pair should print latency percentiles:\n{out}"
    m = re.search(r"frames (\d+)/(\d+) received", out)
    assert m, f"pair should print 'frames RECEIVED/SENT received':\n{out}"
    received, sent = int(m.group(1)), int(m.group(2))
    assert received == sent >= 20, f"3 s at 10 fps should relay about 30 frames, all of them: {received}/{sent}:\n{out}"
    assert elapsed >= 2.5, f"--duration 3s finished after {elapsed:.1f} s"


@pytest.mark.timeout(150)
def test_client_family_file_reaches_practitioner_output(client_bin, relay_factory, certs, tmp_path):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok)
    src = tmp_path / "camera.webm"
    src.write_bytes(os.urandom(2 * 1024 * 1024 + 12345))  # about 7 s at the default 2.5 Mbit/s
    out = tmp_path / "received.webm"
    # Both secrets from files (@FILE), out of the command lines other users can see.
    tok_file, invite_file = tmp_path / "token", tmp_path / "invite"
    tok_file.write_text(tok + "\n")
    invite_file.write_text(s["inviteToken"])
    prac = subprocess.Popen([str(client_bin), "practitioner", "--server", relay.base_url, "--token", f"@{tok_file}",
                             "--session", s["sessionId"], "--ca", str(certs.ca), "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        wait_until(lambda: prac.poll() is not None or relay.http("GET", "/healthz").json()["connections"] >= 1,
                   15, "the practitioner client to connect")
        assert prac.poll() is None, f"practitioner exited early ({prac.returncode}): {prac.communicate()}"
        fam = client(client_bin, "family", "--server", relay.base_url, "--invite", f"@{invite_file}",
                     "--ca", certs.ca, "--file", src, timeout=90)
        assert fam.returncode == 0, f"family exited {fam.returncode}: {fam.stderr}{fam.stdout}"
        try:
            prac_out, prac_err = prac.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            prac.send_signal(signal.SIGINT)
            prac_out, prac_err = prac.communicate(timeout=10)
            pytest.fail(f"the practitioner client did not finish within 30 s after the family's file ended "
                        f"(stopped with SIGINT; exit {prac.returncode}); output so far {out.stat().st_size if out.exists() else 0} bytes")
        assert prac.returncode == 0, f"practitioner exited {prac.returncode}: {prac_err}{prac_out}"
    finally:
        if prac.poll() is None:
            prac.kill()
            prac.wait(10)
    assert out.exists(), "the practitioner wrote no output file"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600, "a family's camera is saved for its owner only"
    got = out.read_bytes()
    want = src.read_bytes()
    assert len(got) == len(want), f"output has {len(got)} bytes, the file has {len(want)}"
    assert got == want, "output differs from the family's file"


@pytest.mark.timeout(150)
def test_client_notices_a_network_that_goes_silent(client_bin, relay, certs):
    """A practitioner that only receives, behind a network that goes silent (every socket open, no
    byte passing): the client's keepalive pings go unanswered, and it ends with an error saying so
    instead of waiting for ever."""
    tok = relay.token("alice")
    s = relay.create_session(tok)
    forwarder = TCPForwarder(int(relay.base_url.rsplit(":", 1)[1]), "practitioner")
    prac = subprocess.Popen([str(client_bin), "practitioner", "--server", forwarder.url, "--token", tok,
                             "--session", s["sessionId"], "--ca", str(certs.ca), "--output", "/dev/null"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(prac.stderr), daemon=True)
    reader.start()
    try:
        # Silence only once the client has its welcome (bytes still in the forwarder would be held).
        wait_until(lambda: prac.poll() is not None or any("welcome" in line for line in lines), 15,
                   "the practitioner client's welcome")
        assert prac.poll() is None, f"practitioner exited early ({prac.returncode}): {''.join(lines)}"
        forwarder.silence(True)
        silent_at = time.monotonic()
        try:
            prac.wait(timeout=90)
        except subprocess.TimeoutExpired:
            prac.kill()
            pytest.fail(f"the practitioner was still waiting 90 s into the silence: {''.join(lines)[-800:]}")
        waited = time.monotonic() - silent_at
        reader.join(10)
        err = "".join(lines)
        assert prac.returncode not in (0, None), f"exit {prac.returncode} after the network went silent: {err}"
        assert "the network went silent" in err and "not even an answer to a ping" in err, err
        # The keepalive hangs up 30 s after the relay was last heard, checked once a second.
        assert 25 <= waited <= 40, f"gave up {waited:.0f} s into the silence (the keepalive hangs up 30 s after the last pong)"
    finally:
        forwarder.close()
        if prac.poll() is None:
            prac.kill()
            prac.wait(10)


def test_client_forged_token_exits_3(client_bin, relay, certs, forged_token):
    p = client(client_bin, "create", "--server", relay.base_url, "--token", forged_token, "--ca", certs.ca)
    assert p.returncode == 3, f"create with a forged token: exit {p.returncode}, expected 3: {p.stderr}"
    assert p.stderr.strip(), "a refused token needs a clear message"


def test_client_forged_invite_exits_3(client_bin, relay, certs):
    s = relay.create_session(relay.token("alice"))
    p = client(client_bin, "family", "--server", relay.base_url, "--invite", forge(s["inviteToken"]),
               "--ca", certs.ca, "--file", "/dev/null", timeout=30)
    assert p.returncode == 3, f"family with a forged invite: exit {p.returncode}, expected 3: {p.stderr}"
    assert p.stderr.strip()


def test_client_practitioner_of_another_practitioner_exits_3(client_bin, relay, certs, tmp_path):
    s = relay.create_session(relay.token("alice"))
    p = client(client_bin, "practitioner", "--server", relay.base_url, "--token", relay.token("bob"),
               "--session", s["sessionId"], "--ca", certs.ca, "--output", tmp_path / "o", timeout=30)
    assert p.returncode == 3, f"practitioner with bob's token on alice's session: exit {p.returncode}, expected 3: {p.stderr}"


def test_client_unreachable_server_exits_2(client_bin, relay, certs):
    port = free_port()
    p = client(client_bin, "create", "--server", f"https://127.0.0.1:{port}", "--token", relay.token("alice"),
               "--ca", certs.ca, timeout=60)
    assert p.returncode == 2, f"unreachable server: exit {p.returncode}, expected 2: {p.stderr}"
    assert p.stderr.strip()


@pytest.mark.parametrize("command", ["create", "family"])
def test_client_wrong_ca_exits_2(client_bin, relay, other_certs, command):
    tok = relay.token("alice")
    if command == "create":
        args = ["create", "--token", tok]
    else:
        args = ["family", "--invite", relay.create_session(tok)["inviteToken"], "--file", "/dev/null"]
    p = client(client_bin, *args, "--server", relay.base_url, "--ca", other_certs.ca, timeout=60)
    assert p.returncode == 2, f"{command} with the wrong CA: exit {p.returncode}, expected 2: {p.stderr}"
    assert p.stderr.strip(), "a bad certificate needs a clear message"
