"""Recordings encrypted at rest (`vigrelay serve --recording-key FILE`, docs/RECORDING.md): the
files on disk are not the video; downloads, Range requests, clips and the recovery after `kill -9`
give the video back exactly; a relay without the key, or with another one, is refused at start
with what to do; withdrawing consent deletes the media and the recording's wrapped key."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from test_recording_http import _make_webm, ffmpeg_errors, get, post_clip, rec_path, record
from vrtest import CAMERA, F_INIT, chunks, free_port, give_consent, media_frame, next_json, run, start_recording, wait_until


@pytest.fixture(scope="module")
def webm12(tmp_path_factory) -> bytes:
    return _make_webm(tmp_path_factory.mktemp("webm") / "t12.webm", 12, "160x120")


def make_key(vigrelay_bin, path: Path) -> str:
    """`vigrelay recording-key PATH`; returns the key id it prints."""
    out = run([vigrelay_bin, "recording-key", path])
    assert out.returncode == 0, out.stderr
    assert "key id " in out.stdout and f"--recording-key {path}" in out.stdout, out.stdout
    return out.stdout.split("key id ")[1].split(")")[0]


def serve_once(vigrelay_bin, relay, *args: str):
    """`vigrelay serve` on the relay's data directory and certificate, expected to refuse at start."""
    return run([vigrelay_bin, "serve", "--listen", f"127.0.0.1:{free_port()}", "--data-dir", relay.data_dir,
                "--cert", relay.certs.cert, "--key", relay.certs.key, *args], timeout=30)


def test_the_key_command_makes_a_private_key_once(vigrelay_bin, tmp_path):
    key = tmp_path / "recording.key"
    key_id = make_key(vigrelay_bin, key)
    assert len(key_id) == 16 and all(c in "0123456789abcdef" for c in key_id)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = run([vigrelay_bin, "recording-key", key])
    assert again.returncode == 1 and "already exists" in again.stderr and "never overwritten" in again.stderr, again
    assert key.read_bytes() == before


def test_encrypted_recordings_play_back_and_need_their_key(relay_factory, vigrelay_bin, webm12, tmp_path):
    key = tmp_path / "keys" / "recording.key"
    key.parent.mkdir()
    key_id = make_key(vigrelay_bin, key)
    relay = relay_factory(["--recording-key", str(key)])
    assert (Path(relay.data_dir) / "recording-key.id").read_text().strip() == key_id
    assert "recordings are encrypted at rest" in relay.log_text() and key_id in relay.log_text()

    # A finished recording: on disk it is not the video, over HTTP it is.
    r = record(relay, webm12)
    sid, rid, tok = r["sid"], r["rid"], r["token"]
    rec_dir = Path(relay.data_dir) / "sessions" / sid / "recordings"
    on_disk = (rec_dir / f"{rid}.webm").read_bytes()
    assert len(on_disk) == len(webm12)
    assert on_disk != webm12 and not on_disk.startswith(b"\x1a\x45\xdf\xa3"), "no EBML header in the clear"
    assert webm12[2000:2064] not in on_disk
    manifest = json.loads((rec_dir / f"{rid}.json").read_text())
    assert manifest["encryption"]["keyId"] == key_id and manifest["encryption"]["cipher"] == "aes-256-ctr"
    assert "wrappedKey" in manifest["encryption"]

    whole = get(relay, rec_path(sid, rid), tok)
    assert whole.status == 200 and whole.body == webm12, whole
    ranged = get(relay, rec_path(sid, rid), tok, {"Range": "bytes=5001-9000"})
    assert ranged.status == 206 and ranged.body == webm12[5001:9001]
    downloaded = tmp_path / "download.webm"
    downloaded.write_bytes(whole.body)
    assert ffmpeg_errors(downloaded) == ""

    made = post_clip(relay, r, {"recordingId": rid, "fromMs": 3000, "toMs": 8000, "note": "a shared smile"})
    assert made.status == 201, made
    clip = get(relay, f"/v1/sessions/{sid}/clips/{made.json()['clipId']}", tok)
    assert clip.status == 200 and len(clip.body) == made.json()["bytes"]
    clip_file = tmp_path / "clip.webm"
    clip_file.write_bytes(clip.body)
    assert ffmpeg_errors(clip_file) == "", "the clip is cut from the decrypted recording"
    excerpt = get(relay, f"{rec_path(sid, rid)}?fromMs=3000&toMs=8000", tok)
    assert excerpt.status == 200 and excerpt.body == clip.body, "an excerpt of the same span: the same decrypted bytes"
    # The notes are sealed on disk too, and read back in the summary.
    r["p"].send_json({"type": "mark", "recordingId": rid, "atMs": 4200, "note": "she waits for his turn"})
    assert next_json(r["p"])["type"] == "marked"
    summary = wait_until(lambda: (lambda b: b if b["marks"] else None)(get(relay, f"/v1/sessions/{sid}", tok).json()), 10, "the mark")
    assert [m["note"] for m in summary["marks"]] == ["she waits for his turn"]
    assert [c["note"] for c in summary["clips"]] == ["a shared smile"]
    clip_record = Path(relay.data_dir) / "sessions" / sid / "clips" / f"{made.json()['clipId']}.json"
    for path in (rec_dir / f"{rid}.marks", clip_record):
        assert "sealedNote" in path.read_text() and "his turn" not in path.read_text() and "smile" not in path.read_text(), path
    # A clip's note changed is sealed too.
    clip_id = made.json()["clipId"]
    changed = relay.http("PATCH", f"/v1/sessions/{sid}/clips/{clip_id}", headers={"Authorization": f"Bearer {tok}"},
                         body=json.dumps({"note": "a shared smile, and a laugh"}).encode())
    assert changed.status == 200 and changed.json()["note"] == "a shared smile, and a laugh", changed
    assert [c["note"] for c in get(relay, f"/v1/sessions/{sid}", tok).json()["clips"]] == ["a shared smile, and a laugh"]
    assert "sealedNote" in clip_record.read_text() and "laugh" not in clip_record.read_text()
    # A note changed is sealed as the first was, and read back; a damaged one is listed as unreadable,
    # not dropped, and the mark can still be removed.
    mark_id = summary["marks"][0]["markId"]
    r["p"].send_json({"type": "note", "recordingId": rid, "markId": mark_id, "note": "she waits, then takes her turn"})
    assert next_json(r["p"]) == {"type": "noted", "markId": mark_id, "recordingId": rid}
    assert [m["note"] for m in get(relay, f"/v1/sessions/{sid}", tok).json()["marks"]] == ["she waits, then takes her turn"]
    assert "sealedNote" in (rec_dir / f"{rid}.marks").read_text() and "her turn" not in (rec_dir / f"{rid}.marks").read_text()
    marks_file = rec_dir / f"{rid}.marks"
    line = json.loads(marks_file.read_text())
    sealed = line["sealedNote"]
    line["sealedNote"] = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    marks_file.write_text(json.dumps(line) + "\n")
    [damaged] = get(relay, f"/v1/sessions/{sid}", tok).json()["marks"]
    assert (damaged["note"], damaged.get("noteUnreadable")) == ("", True), damaged
    r["p"].send_json({"type": "unmark", "recordingId": rid, "markId": mark_id})
    assert next_json(r["p"]) == {"type": "unmarked", "markId": mark_id, "recordingId": rid}
    assert get(relay, f"/v1/sessions/{sid}", tok).json()["marks"] == [] and mark_id not in (rec_dir / f"{rid}.marks").read_text()

    # A second recording killed mid-cluster: recovered at the next start with the key.
    tok2 = relay.token("alice")
    s2 = relay.create_session(tok2)
    p, _ = relay.join(s2["sessionId"], tok2, "practitioner")
    f, _ = relay.join(s2["sessionId"], s2["inviteToken"], "family")
    assert p.recv_json()["event"] == "joined"
    give_consent(p, f)
    rid2 = start_recording(p, f)
    for i, c in enumerate(chunks(webm12[:30000], [1000])):
        f.send_bytes(media_frame(CAMERA, F_INIT if i == 0 else 0, i, i * 100_000, c))
        p.recv_binary()
    index2 = Path(relay.data_dir) / "sessions" / s2["sessionId"] / "recordings" / f"{rid2}.index"
    deadline = time.monotonic() + 10
    while not (index2.exists() and index2.read_text().count("\nF ") >= 29):
        assert time.monotonic() < deadline, "the writer never synced the index"
        time.sleep(0.05)
    r["p"].close()
    r["f"].close()
    relay.kill()

    # Without the key, or with another, the relay refuses to start and says what to do.
    refused = serve_once(vigrelay_bin, relay)
    assert refused.returncode == 2, refused
    assert f"encrypted under recording key {key_id}" in refused.stderr and "--recording-key" in refused.stderr, refused.stderr
    other = tmp_path / "keys" / "other.key"
    other_id = make_key(vigrelay_bin, other)
    refused = serve_once(vigrelay_bin, relay, "--recording-key", str(other))
    assert refused.returncode == 2 and f"--recording-key is key {other_id}" in refused.stderr, refused.stderr
    os.chmod(key, 0o640)
    refused = serve_once(vigrelay_bin, relay, "--recording-key", str(key))
    assert refused.returncode == 2 and f"chmod 600 {key}" in refused.stderr, refused.stderr
    os.chmod(key, 0o600)
    assert json.loads((index2.parent / f"{rid2}.json").read_text())["state"] == "recording", "nothing was recovered without the key"

    relay.start()
    interrupted = json.loads((index2.parent / f"{rid2}.json").read_text())
    assert interrupted["state"] == "interrupted" and interrupted["encryption"]["keyId"] == key_id
    got = get(relay, rec_path(s2["sessionId"], rid2), tok2)
    assert got.status == 200 and len(got.body) == interrupted["parts"][0]["bytes"] < 30000
    recovered = tmp_path / "recovered.webm"
    recovered.write_bytes(got.body)
    assert ffmpeg_errors(recovered) == "", "cut at its last cluster, in the decrypted file"
    assert not (index2.parent / f"{rid2}.webm").read_bytes().startswith(b"\x1a\x45\xdf\xa3")

    # Withdrawing consent deletes the media and the wrapped key with it.
    p, _ = relay.join(sid, tok, "practitioner")
    f, _ = relay.join(sid, r["invite"], "family")
    f.send_json({"type": "consent", "recording": False})
    deleted = None
    while deleted is None:
        m = next_json(f)
        if m.get("type") == "recording" and m.get("state") == "deleted":
            deleted = m
    assert rid in deleted["recordingIds"]
    assert sorted(x.name for x in rec_dir.iterdir()) == [f"{rid}.json"]
    kept = (rec_dir / f"{rid}.json").read_text()
    assert '"deleted"' in kept and "wrappedKey" not in kept and "encryption" not in kept
    p.close()
    f.close()


def test_rekey_moves_the_recordings_to_a_new_key(relay_factory, vigrelay_bin, webm12, tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    old_id, new_id = make_key(vigrelay_bin, keys / "old.key"), make_key(vigrelay_bin, keys / "new.key")
    relay = relay_factory(["--recording-key", str(keys / "old.key")])
    r = record(relay, webm12)
    rekey = [vigrelay_bin, "rekey", "--from", keys / "old.key", "--to", keys / "new.key", "--data-dir", relay.data_dir]
    busy = run(rekey)
    assert busy.returncode == 1 and "another vigrelay serve" in busy.stderr and "stop it first" in busy.stderr, busy
    r["p"].close()
    r["f"].close()
    relay.stop()

    media = Path(relay.data_dir) / "sessions" / r["sid"] / "recordings" / f"{r['rid']}.webm"
    before = media.read_bytes()
    done = run(rekey)
    assert done.returncode == 0, done
    assert "moved 1 recording(s)" in done.stdout and f"--recording-key {keys / 'new.key'}" in done.stdout, done.stdout
    assert (Path(relay.data_dir) / "recording-key.id").read_text().strip() == new_id
    assert media.read_bytes() == before, "the video is not rewritten"
    again = run(rekey)
    assert again.returncode == 0 and "moved 0 recording(s)" in again.stdout and "1 were under it already" in again.stdout, again

    refused = serve_once(vigrelay_bin, relay, "--recording-key", str(keys / "old.key"))
    assert refused.returncode == 2 and f"encrypted under recording key {new_id}" in refused.stderr and old_id in refused.stderr, refused.stderr
    relay.extra_args = ["--recording-key", str(keys / "new.key")]
    relay.start()
    got = get(relay, rec_path(r["sid"], r["rid"]), r["token"])
    assert got.status == 200 and got.body == webm12
