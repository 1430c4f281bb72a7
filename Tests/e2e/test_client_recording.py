"""vigrelay-client drives recording: the family consents (and withdraws), the practitioner records
with marks; a real ffmpeg WebM is the camera."""
from __future__ import annotations

import json
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from test_recording import FIXTURE
from tcpforward import TCPForwarder
from test_recording_http import ffprobe_span_s
from vrtest import run, wait_until


def start_practitioner(client_bin, relay, certs, tok, sid, *extra) -> subprocess.Popen:
    prac = subprocess.Popen([str(client_bin), "practitioner", "--server", relay.base_url, "--token", tok,
                             "--session", sid, "--ca", str(certs.ca), *map(str, extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    wait_until(lambda: prac.poll() is not None or relay.http("GET", "/healthz").json()["connections"] >= 1,
               15, "the practitioner client to connect")
    assert prac.poll() is None, f"practitioner exited early ({prac.returncode}): {prac.communicate()}"
    return prac


def finish(proc: subprocess.Popen, timeout=30) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"client did not finish within {timeout} s: {err}")


def family(client_bin, relay, certs, invite, *extra) -> subprocess.CompletedProcess:
    return run([client_bin, "family", "--server", relay.base_url, "--invite", invite, "--ca", certs.ca,
                "--file", FIXTURE, "--chunk-size", "1000", "--bitrate", "0", *extra], timeout=60)


@pytest.mark.timeout(120)
def test_practitioner_records_with_marks_once_the_family_consents(client_bin, relay_factory, certs):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok)
    prac = start_practitioner(client_bin, relay, certs, tok, s["sessionId"], "--record",
                              "--mark", "1500:she smiles back", "--mark", "2500")
    fam = family(client_bin, relay, certs, s["inviteToken"], "--consent", "--child-agreed", "--wait-for-recording", "30s")
    assert fam.returncode == 0, fam.stderr
    assert "consent to recording given" in fam.stderr and "started; sending" in fam.stderr, fam.stderr
    out, err = finish(prac)
    assert prac.returncode == 0, err
    assert "waiting up to 60 s" in err, "the practitioner asked before the family consented, and waited"
    summary = json.loads(out.strip().splitlines()[-1])
    data = FIXTURE.read_bytes()
    assert summary["bytes"] == len(data) and summary["frames"] == -(-len(data) // 1000), summary
    assert [m["atMs"] for m in summary["marks"]] == [1500, 2500] and all(len(m["markId"]) == 16 for m in summary["marks"])
    rid = summary["recordingId"]
    sdir = Path(relay.data_dir) / "sessions" / s["sessionId"]
    assert (sdir / "recordings" / f"{rid}.webm").read_bytes() == data, "the recording holds the whole file, byte for byte"
    events = [json.loads(line) for line in (sdir / "session.jsonl").read_text().splitlines()]
    consent = next(e for e in events if e["event"] == "consent")
    assert consent["recording"] is True and consent["childAgreed"] is True
    marks = [e for e in events if e["event"] == "mark"]
    assert [m["atMs"] for m in marks] == [1500, 2500] and not any("note" in m for m in marks), \
        "the kept log has no note text: notes live beside the recording and are deleted with it"
    notes = (sdir / "recordings" / f"{rid}.marks").read_text()
    assert "she smiles back" in notes
    check_http_commands(client_bin, relay, certs, tok, s, rid, data)


def check_http_commands(client_bin, relay, certs, tok, s, rid, data):
    """session, clip and download on the recording just made."""
    sid = s["sessionId"]
    common = ["--server", relay.base_url, "--ca", certs.ca, "--token", tok, "--session", sid]
    summary = run([client_bin, "session", *common])
    assert summary.returncode == 0, summary.stderr
    got = json.loads(summary.stdout)
    assert [r["recordingId"] for r in got["recordings"]] == [rid]
    assert sorted((m["atMs"], m["note"]) for m in got["marks"]) == [(1500, "she smiles back"), (2500, "")]

    work = Path(relay.data_dir).parent
    rec = work / "downloaded.webm"
    down = run([client_bin, "download", *common, "--recording", rid, "--output", rec])
    assert down.returncode == 0 and rec.read_bytes() == data, down.stderr

    clip = work / "clip.webm"
    made = run([client_bin, "clip", *common, "--recording", rid, "--from-ms", "1000", "--to-ms", "3000",
                "--note", "turn-taking", "--output", clip])
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert (answer["actualFromMs"], answer["actualToMs"]) == (1000, 3000), answer
    decoded = run(["ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-"])
    assert decoded.returncode == 0 and decoded.stderr == "", decoded.stderr
    assert abs(ffprobe_span_s(clip) - 2.0) < 0.3, "the clip lasts what was asked"
    again = run([client_bin, "download", *common, "--clip", answer["clipId"], "--output", work / "clip2.webm"])
    assert again.returncode == 0 and (work / "clip2.webm").read_bytes() == clip.read_bytes()
    for saved in (rec, clip, work / "clip2.webm"):
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600, f"{saved.name}: a recording of a child is saved for its owner only"

    bad = run([client_bin, "clip", *common, "--recording", rid, "--from-ms", "3000", "--to-ms", "1000"])
    assert bad.returncode == 1 and "invalid_request" in bad.stderr, bad.stderr
    missing = run([client_bin, "download", *common, "--recording", "0" * 16, "--output", work / "none.webm"])
    assert missing.returncode == 1 and "recording_not_found" in missing.stderr and not (work / "none.webm").exists()
    failed = run([client_bin, "download", *common, "--recording", "0" * 16, "--output", rec])
    assert failed.returncode == 1 and rec.read_bytes() == data, "a failed download leaves a file already there as it was"
    check_interrupted_download(client_bin, relay, certs, common, rid, rec, data)
    assert sorted(p.name for p in work.iterdir() if p.name.endswith(".partial")) == [], "no half files left behind"
    family_tok = ["--server", relay.base_url, "--ca", certs.ca, "--token", s["inviteToken"], "--session", sid]
    refused = run([client_bin, "session", *family_tok])
    assert refused.returncode == 3 and "forbidden" in refused.stderr, refused.stderr


def check_interrupted_download(client_bin, relay, certs, common, rid, rec: Path, data: bytes) -> None:
    """Ctrl-C during a download (slowed by a throttling forwarder, so it is cut mid-body): the
    client says it was interrupted, exits 130, and leaves neither a half file nor a changed one."""
    fwd = TCPForwarder(relay.port, "slow-download")
    try:
        fwd.throttle(2_000)  # bytes a second towards the client: the handshake and the 14 KB body take ~8 s
        args = [str(a) for a in common]
        args[args.index("--server") + 1] = fwd.url
        partial = rec.parent / f".{rec.name}.partial"
        proc = subprocess.Popen([str(client_bin), "download", *args, "--recording", rid, "--output", str(rec)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        # The body is one TLS record, so nothing reaches the file before the end: the download is
        # under way once its partial file exists and more than a TLS handshake has come through.
        wait_until(lambda: proc.poll() is not None or (partial.exists() and fwd.bytes_down > 5_000), 20,
                   "the download to be under way")
        assert proc.poll() is None, f"the download ended before it could be interrupted: {proc.communicate()}"
        assert stat.S_IMODE(partial.stat().st_mode) == 0o600 and partial.stat().st_size < len(data)
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc)
        assert proc.returncode == 130 and "interrupted" in err and "nothing was written" in err, (proc.returncode, err)
        assert not partial.exists() and rec.read_bytes() == data, "the file already there is untouched"
    finally:
        fwd.close()


@pytest.mark.timeout(120)
def test_family_withdrawal_deletes_what_was_recorded(client_bin, relay_factory, certs):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok)
    prac = start_practitioner(client_bin, relay, certs, tok, s["sessionId"], "--record")
    fam = family(client_bin, relay, certs, s["inviteToken"], "--consent", "--wait-for-recording", "30s", "--withdraw-consent")
    assert fam.returncode == 0, fam.stderr
    assert "consent withdrawn; the relay deleted 1 recording(s)" in fam.stderr, fam.stderr
    finish(prac)
    rec = Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings"
    left = sorted(p.suffix for p in rec.iterdir())
    assert left == [".json"], f"only the manifest may stay after withdrawal: {left}"
    assert json.loads(next(rec.iterdir()).read_text())["state"] == "deleted"


def test_practitioner_without_consent_gives_up_with_a_clear_error(client_bin, relay_factory, certs):
    relay = relay_factory()
    tok = relay.token("alice")
    s = relay.create_session(tok)
    p = run([client_bin, "practitioner", "--server", relay.base_url, "--token", tok, "--session", s["sessionId"],
             "--ca", certs.ca, "--record", "--consent-wait", "1s"], timeout=30)
    assert p.returncode == 1 and "did not consent to recording within 1 s" in p.stderr, p.stderr


@pytest.mark.parametrize("args,message", [
    (["--mark", "1500"], "--mark goes with --record"),
    (["--record", "--mark", "soon"], "--mark 'soon' is not MS or MS:NOTE"),
    (["--record", "--mark=-5"], "--mark '-5' is not MS or MS:NOTE"),
])
def test_practitioner_recording_options_are_checked(client_bin, args, message):
    p = run([client_bin, "practitioner", "--server", "https://127.0.0.1:1", "--token", "t", "--session", "0" * 32, *args])
    assert p.returncode == 64 and message in p.stderr, p.stderr


def test_family_consent_options_are_checked(client_bin):
    p = run([client_bin, "family", "--server", "https://127.0.0.1:1", "--invite", "x.y", "--child-agreed"])
    assert p.returncode == 64 and "go with --consent" in p.stderr, p.stderr
