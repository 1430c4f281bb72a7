"""A recording that stops while the camera streams ends at its last complete WebM block (docs/RECORDING.md,
"Where a part ends"): the family's last chunk is an arbitrary cut of the stream, as MediaRecorder's
are, so the relay cuts each part back to the end of its last complete block (unknown-size Clusters,
as browsers write) or its last whole Cluster (sized Clusters, as ffmpeg writes) when the part closes:
on stop, when the grace for a dropped family runs out, and when a returning family's new stream opens
the next part. The file is then a prefix of what was sent, `ffmpeg -v error` reads it silently, and
the manifest and the `stopped` notice count what is kept. Other media (fragmented MP4) is kept byte
for byte. The camera is a real WebM made by ffmpeg (the committed live fixture)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from vrtest import give_consent, next_json, send_camera, start_recording, stop_recording

FIXTURES = Path(__file__).resolve().parent.parent / "VigRelayCoreTests" / "Fixtures"
LIVE = FIXTURES / "testsrc-av-live.webm"  # VP8 + Opus, ffmpeg -live 1: unknown-size Segment, sized Clusters

SEGMENT, CLUSTER, TIMESTAMP, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0x18538067, 0x1F43B675, 0xE7, 0xA3, 0xA0, 0xA1
LEVEL_1 = {0x1F43B675, 0x1C53BB6B, 0x1254C367, 0x114D9B74, 0x1549A966, 0x1654AE6B, 0x1043A770, 0x1941A469}


# --- a small EBML reader: where the clusters and blocks of a WebM are --------------------------

def _id(b: bytes, i: int) -> tuple[int, int]:
    n = 1
    while not b[i] & (0x80 >> (n - 1)):
        n += 1
    return int.from_bytes(b[i:i + n], "big"), n


def _size(b: bytes, i: int) -> tuple[int | None, int]:
    n = 1
    while not b[i] & (0x80 >> (n - 1)):
        n += 1
    value = b[i] & (0xFF >> n)
    for k in range(1, n):
        value = (value << 8) | b[i + k]
    return (None if value == (1 << (7 * n)) - 1 else value), n


@dataclass
class Block:
    start: int
    end: int
    time_ms: int


@dataclass
class Cluster:
    start: int
    size_field: tuple[int, int]  # offset and length of its size
    end: int = 0
    time_ms: int = 0
    blocks: list[Block] = field(default_factory=list)


def clusters_of(b: bytes) -> list[Cluster]:
    """The Clusters of a WebM (sized or not) with their blocks' offsets and times (TimestampScale 1 ms)."""
    out: list[Cluster] = []
    i = 0
    while i < len(b):
        eid, n = _id(b, i)
        size, m = _size(b, i + n)
        body = i + n + m
        if eid == SEGMENT:
            i = body  # enter
            continue
        if eid == CLUSTER:
            c = Cluster(start=i, size_field=(i + n, m))
            limit = body + size if size is not None else len(b)
            j = body
            while j < limit:
                cid, cn = _id(b, j)
                if size is None and cid in LEVEL_1:
                    break
                csize, cm = _size(b, j + cn)
                cbody, cend = j + cn + cm, j + cn + cm + csize
                if cid == TIMESTAMP:
                    c.time_ms = int.from_bytes(b[cbody:cend], "big")
                elif cid in (SIMPLE_BLOCK, BLOCK_GROUP):
                    at = cbody
                    if cid == BLOCK_GROUP:  # the Block is the group's first child here
                        _, bn = _id(b, at)
                        _, bm = _size(b, at + bn)
                        at += bn + bm
                    _, tn = _size(b, at)  # track number
                    rel = int.from_bytes(b[at + tn:at + tn + 2], "big", signed=True)
                    c.blocks.append(Block(j, cend, c.time_ms + rel))
                j = cend
            c.end = j
            out.append(c)
            i = j
            continue
        i = body + (size or 0)
    return out


def with_unknown_size_clusters(b: bytes) -> bytes:
    """The same stream with every Cluster's size written as unknown, as Chrome's MediaRecorder writes
    them (same length, so every offset stays)."""
    out = bytearray(b)
    for c in clusters_of(b):
        at, n = c.size_field
        out[at:at + n] = bytes([0xFF >> (n - 1)] + [0xFF] * (n - 1))
    return bytes(out)


# --- helpers ----------------------------------------------------------------------------------


def ffmpeg_errors(path: Path) -> str:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    return out.stderr + ("" if out.returncode == 0 else f" (exit {out.returncode})")


def recording_dir(relay, sid: str) -> Path:
    return Path(relay.data_dir) / "sessions" / sid / "recordings"


def manifest(relay, sid: str, rid: str) -> dict:
    return json.loads((recording_dir(relay, sid) / f"{rid}.json").read_text())


def index_lines(relay, sid: str, rid: str) -> list[list[str]]:
    return [line.split() for line in (recording_dir(relay, sid) / f"{rid}.index").read_text().splitlines()]


def duration_to(cs: list[Cluster], end: int) -> int:
    """What a part of the stream up to `end` lasts: from its first cluster to its latest block."""
    kept = [b.time_ms for c in cs for b in c.blocks if b.end <= end] + [c.time_ms for c in cs if c.start < end and c.blocks]
    return max(kept) - cs[0].time_ms


def expect_clean_prefix(path: Path, sent: bytes, end: int) -> None:
    got = path.read_bytes()
    assert len(got) == end, f"{path.name}: {len(got)} bytes kept, expected {end} (sent {len(sent)})"
    assert got == sent[:end], f"{path.name} is not a prefix of what was sent"
    assert ffmpeg_errors(path) == "", f"{path.name}: {ffmpeg_errors(path)}"


# --- the tests --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live() -> bytes:
    return LIVE.read_bytes()


def test_a_browser_like_stream_stopped_mid_block_ends_at_its_last_complete_block(relay, live):
    stream = with_unknown_size_clusters(live)
    assert ffmpeg_errors_bytes(stream) == "", "the rewritten stream itself is clean"
    cs = clusters_of(stream)
    cluster = cs[2]
    last, cut_in = cluster.blocks[4], cluster.blocks[5]
    cut = (cut_in.start + cut_in.end) // 2
    sent = stream[:cut]
    assert ffmpeg_errors_bytes(sent) != "", "cut mid-block, the stream alone ends prematurely"

    p, f, s = relay.pair("cut-browser")
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, sent, sizes=777)
    stopped = stop_recording(p, f, rid)
    media = recording_dir(relay, sid) / f"{rid}.webm"
    expect_clean_prefix(media, sent, last.end)

    duration = duration_to(cs, last.end)
    assert (stopped["bytes"], stopped["durationMs"]) == (last.end, duration), stopped
    m = manifest(relay, sid, rid)
    assert m["state"] == "complete" and m["parts"][0]["bytes"] == last.end and m["parts"][0]["durationMs"] == duration, m
    frames = [l for l in index_lines(relay, sid, rid) if l[0] == "F"]
    assert int(frames[-1][2]) + int(frames[-1][3]) == last.end, "the index ends where the file does"
    assert m["parts"][0]["frames"] == len(frames)
    assert all(int(l[2]) < last.end for l in index_lines(relay, sid, rid) if l[0] == "C"), "no cluster past the end"

    # What the practitioner downloads is that file.
    got = relay.http("GET", f"/v1/sessions/{sid}/recordings/{rid}", headers={"Authorization": f"Bearer {s['practitionerToken']}"})
    assert got.status == 200 and got.body == sent[:last.end]
    p.close()
    f.close()


def test_an_ffmpeg_stream_stopped_mid_block_ends_at_its_last_whole_cluster(relay, live):
    cs = clusters_of(live)
    cluster = cs[3]
    cut_in = cluster.blocks[3]
    cut = cut_in.start + 7
    sent = live[:cut]
    assert ffmpeg_errors_bytes(sent) != ""

    p, f, s = relay.pair("cut-ffmpeg")
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, sent, sizes=4096)
    stopped = stop_recording(p, f, rid)
    expect_clean_prefix(recording_dir(relay, sid) / f"{rid}.webm", sent, cluster.start)
    assert cluster.start == cs[2].end == cs[2].blocks[-1].end, "a sized Cluster ends with its last block"
    assert stopped["bytes"] == cluster.start
    assert stopped["durationMs"] == duration_to(cs, cluster.start)
    p.close()
    f.close()


def test_a_whole_stream_is_kept_whole(relay, live):
    p, f, s = relay.pair("cut-whole")
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, live, sizes=1234)
    stopped = stop_recording(p, f, rid)
    assert stopped["bytes"] == len(live)
    assert (recording_dir(relay, s["sessionId"]) / f"{rid}.webm").read_bytes() == live
    p.close()
    f.close()


def test_grace_expiry_after_a_drop_mid_block_cuts_the_part(relay_factory, live):
    relay = relay_factory(["--reconnect-grace", "1s"])
    stream = with_unknown_size_clusters(live)
    block = clusters_of(stream)[1].blocks[2]
    sent = stream[:block.start + 20]
    p, f, s = relay.pair("cut-grace")
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, sent, sizes=500)
    f.abort()  # the phone's connection drops in the middle of a block
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    stopped = next_json(p, timeout=15)
    assert stopped["state"] == "stopped" and stopped.get("reason") == "grace expired", stopped
    expect_clean_prefix(recording_dir(relay, sid) / f"{rid}.webm", sent, block.start)
    assert stopped["bytes"] == block.start
    p.close()


def test_a_family_back_with_a_new_stream_ends_the_old_part_at_its_last_complete_block(relay_factory, live):
    relay = relay_factory()
    stream = with_unknown_size_clusters(live)
    block = clusters_of(stream)[2].blocks[1]
    first = stream[:block.start + 9]
    p, f, s = relay.pair("cut-back")
    sid = s["sessionId"]
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, first, sizes=600)
    f.abort()
    assert next_json(p) == {"type": "peer", "event": "left", "role": "family"}
    f2, _ = relay.join(sid, s["inviteToken"], "family-again")
    assert next_json(f2) == {"type": "consent", "recording": True}
    assert next_json(f2) == {"type": "recording", "state": "running", "recordingId": rid}
    assert next_json(p) == {"type": "peer", "event": "joined", "role": "family"}
    send_camera(p, f2, live, sizes=1500)
    stopped = stop_recording(p, f2, rid)
    rec = recording_dir(relay, sid)
    expect_clean_prefix(rec / f"{rid}.webm", first, block.start)
    assert (rec / f"{rid}.2.webm").read_bytes() == live, "the new stream, whole"
    assert stopped["bytes"] == block.start + len(live)
    parts = manifest(relay, sid, rid)["parts"]
    assert [x["bytes"] for x in parts] == [block.start, len(live)], parts
    p.close()
    f2.close()


def test_fragmented_mp4_is_kept_byte_for_byte(relay, tmp_path):
    mp4 = tmp_path / "camera.mp4"
    made = subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "3",
                           "-c:v", "libx264", "-g", "10", "-movflags", "frag_keyframe+empty_moov+default_base_moof",
                           "-f", "mp4", str(mp4)], capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    data = mp4.read_bytes()
    sent = data[:len(data) * 2 // 3 + 1]  # an arbitrary cut, inside a fragment
    p, f, s = relay.pair("cut-mp4")
    give_consent(p, f)
    rid = start_recording(p, f)
    send_camera(p, f, sent, sizes=3000)
    stopped = stop_recording(p, f, rid)
    assert stopped["bytes"] == len(sent)
    assert (recording_dir(relay, s["sessionId"]) / f"{rid}.mp4").read_bytes() == sent, "not WebM: every byte, as sent"
    p.close()
    f.close()


def ffmpeg_errors_bytes(data: bytes) -> str:
    p = subprocess.run(["ffmpeg", "-v", "error", "-f", "matroska", "-i", "pipe:0", "-f", "null", "-"], input=data,
                       capture_output=True, timeout=60)
    return p.stderr.decode("utf-8", "replace") + ("" if p.returncode == 0 else f" (exit {p.returncode})")
