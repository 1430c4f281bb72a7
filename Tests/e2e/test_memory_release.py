"""After a burst, the relay gives the memory its queues freed back to the kernel (`FreedMemoryRelease`).

The relay keeps freed memory for reuse (`mallopt` at start: a steady load then reuses the same pages
instead of faulting in new ones), so without this a burst of queued media, viewers far behind or a
load past what the relay carries, left its RSS at the peak until a restart. Here two practitioners
read nothing while their families send, so both queues grow to about 100 MB together (the frames
of the two interleaved on the heap, as many connections' are), then the practitioners drop their
connections and the queues are freed. Kept small (a second or two of sending) and run apart from
the latency-measuring tests (`one_at_a_time`, conftest.py). Every wait has a deadline."""
from pathlib import Path

import pytest

from vrtest import CAMERA, F_KEY, media_frame, patterned, wait_until

MiB = 1 << 20
FRAME = 64 << 10
QUEUED = 48 * MiB  # per viewer: together more than FreedMemoryRelease.burstBytes (64 MiB), less than glibc's trim threshold here (256 MiB)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


@pytest.mark.one_at_a_time
@pytest.mark.timeout(180)
def test_memory_a_burst_of_queued_media_is_given_back_once_its_queues_drain(relay_factory):
    # Queues up to 512 MiB before a viewer is skipped: the burst stays whole in the relay's memory.
    relay = relay_factory(extra_args=["--viewer-queue-bytes", str(512 * MiB)])
    pid = relay.proc.pid
    token = relay.metrics_token()
    pairs = [relay.pair() for _ in range(2)]
    before = rss_bytes(pid)

    payload = patterned(FRAME, 3)
    for seq in range(QUEUED // FRAME):
        for _, family, _ in pairs:
            family.send_bytes(media_frame(CAMERA, F_KEY, seq, seq * 100_000, payload))
    queued = wait_until(lambda: (m := relay.metrics(token))["vigrelay_send_queue_bytes"] >= 2 * QUEUED - 16 * MiB and m, 60,
                        "both viewers' queues to hold what their families sent")
    peak = rss_bytes(pid)
    assert peak >= before + 80 * MiB, (before, peak, queued["vigrelay_send_queue_bytes"])

    # The practitioners drop their connections: the relay frees both queues, then gives the memory back.
    for practitioner, _, _ in pairs:
        practitioner.abort()
    wait_until(lambda: relay.metrics(token)["vigrelay_send_queue_bytes"] == 0, 30, "the queues to be freed")
    fell = wait_until(lambda: (now := rss_bytes(pid)) <= before + 32 * MiB and now, 30,
                      f"the relay's RSS to fall back near {before >> 20} MiB from {peak >> 20} MiB")
    log = wait_until(lambda: "freed memory given back to the kernel" in (text := relay.log_text()) and text, 10,
                     "the release in the relay's log")
    assert "queued.peak.bytes" in log, log[-2000:]
    assert fell < peak - 60 * MiB, (before, peak, fell)
    for _, family, _ in pairs:
        family.close()
