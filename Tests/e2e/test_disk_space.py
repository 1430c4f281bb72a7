"""Space for recordings (`--min-free-space`): below it no recording starts and the practitioner is
told `disk_space_low` (and `recording_space` before pressing Start), the live video goes on, a running recording keeps going; the operator sees
the space in `/metrics` and hears each crossing once in the log. The space is taken for real, with
a file allocated beside the data directory on the same file system."""
import os
from pathlib import Path

from vrtest import give_consent, next_json, run, send_camera, serve_refused, start_recording, stop_recording, wait_until

FIXTURE = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures" / "testsrc-4s.webm"
GIB = 1 << 30
LOW = "low on space"
BACK = "back above --min-free-space"


def available(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def take_space(path: Path, size: int) -> None:
    """Allocates `size` bytes at `path` (blocks reserved without writing them where the file system can)."""
    with open(path, "wb") as f:
        try:
            os.posix_fallocate(f.fileno(), 0, size)
        except OSError:
            chunk = bytes(64 << 20)
            for _ in range(size // len(chunk)):
                f.write(chunk)
        f.flush()
        os.fsync(f.fileno())


def refused_for_space(p, msg_id) -> dict:
    p.send_json({"type": "record", "action": "start", "id": msg_id})
    error = p.recv_error("disk_space_low")
    assert error["id"] == msg_id
    return error


def test_no_recording_starts_below_the_reserve_and_the_live_video_goes_on(relay_factory):
    relay = relay_factory(["--min-free-space", "1000000T"])  # more than any disk here has
    wait_until(lambda: LOW in relay.log_text(), 10, "the warning at start")
    token = relay.token()
    s = relay.create_session(token)
    p, _ = relay.join(s["sessionId"], token, "practitioner", role="practitioner")
    assert p.recv_json() == {"type": "recording_space", "low": True}, "told right after welcome, before pressing Start"
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=True)
    assert p.recv_json() == {"type": "peer", "event": "joined", "role": "family"}
    give_consent(p, f)
    error = refused_for_space(p, "start")
    assert "free space" in error["message"] and "live video goes on" in error["message"], error
    data = FIXTURE.read_bytes()
    assert send_camera(p, f, data) == -(-len(data) // 4096), "the live video goes on"
    recordings = Path(relay.data_dir) / "sessions" / s["sessionId"] / "recordings"
    assert not recordings.exists() or not any(recordings.iterdir()), "nothing was recorded"
    metrics = relay.metrics(relay.metrics_token())
    assert metrics["vigrelay_min_free_space_bytes"] == 1e18
    assert abs(metrics["vigrelay_data_available_bytes"] - available(relay.data_dir)) < GIB, metrics["vigrelay_data_available_bytes"]
    assert metrics['vigrelay_errors_total{code="disk_space_low"}'] == 1
    assert relay.log_text().count(LOW) == 1, "said once, not every second"
    p.close()
    f.close()

    # The headless client says it in words as it joins.
    out = run([relay.bins.client, "practitioner", "--server", relay.base_url, "--token", token, "--session", s["sessionId"],
               "--ca", relay.certs.ca, "--duration", "1s"], timeout=30)
    assert out.returncode == 0, out
    assert "practitioner: recording space: the relay is low on disk space, so a recording cannot start now" in out.stderr, out.stderr


def test_recordings_wait_while_the_space_is_taken_and_start_once_it_is_freed(relay_factory, tmp_path):
    free = available(tmp_path)
    assert free > 4 * GIB, f"this test takes 2 GiB of the disk and the relay keeps 2 GB by default: only {free} bytes are free"
    relay = relay_factory(["--min-free-space", str(free - GIB)])
    token = relay.metrics_token()
    p, f, s = relay.pair()
    give_consent(p, f)
    data = FIXTURE.read_bytes()
    rid = start_recording(p, f)
    send_camera(p, f, data[:8000])

    filler = tmp_path / "filler"
    try:
        take_space(filler, 2 * GIB)
        wait_until(lambda: relay.metrics(token)["vigrelay_data_available_bytes"] < free - GIB, 10,
                   "the relay to see the space taken")
        wait_until(lambda: LOW in relay.log_text(), 10, "the warning")
        assert next_json(p) == {"type": "recording_space", "low": True}, "the practitioner joined is told"
        send_camera(p, f, data[8000:], first_is_init=False)
        stopped = stop_recording(p, f, rid)
        assert stopped["bytes"] == len(data), "the recording running when the space fell kept every byte"
        refused_for_space(p, 1)
    finally:
        filler.unlink(missing_ok=True)

    wait_until(lambda: relay.metrics(token)["vigrelay_data_available_bytes"] >= free - GIB, 10, "the relay to see the space freed")
    wait_until(lambda: BACK in relay.log_text(), 10, "the notice that recordings may start again")
    assert next_json(p) == {"type": "recording_space", "low": False}
    rid2 = start_recording(p, f)
    send_camera(p, f, data)
    assert stop_recording(p, f, rid2)["bytes"] == len(data)
    log = relay.log_text()
    assert log.count(LOW) == 1 and log.count(BACK) == 1, "each crossing is said once"
    p.close()
    f.close()


def test_serve_refuses_a_size_it_cannot_read(vigrelay_bin, tmp_path):
    for option, value in [("--min-free-space", "lots"), ("--min-free-space", "-1G"), ("--recording-quota", "2X")]:
        out = serve_refused(vigrelay_bin, tmp_path, f"{option}={value}")
        assert f"{option} '{value}' is not a size" in out.stderr and "2G" in out.stderr, out.stderr
    out = serve_refused(vigrelay_bin, tmp_path, "--recording-quota", "0")
    assert "--recording-quota must be more than 0" in out.stderr, out.stderr
