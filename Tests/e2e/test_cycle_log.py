"""GET /v1/cycles over the real relay (docs/PROTOCOL.md, "GET /v1/cycles"): who may read it, which
sessions count as held (the family and the practitioner in at once), how they group into cases and
cycles, the same log after a restart (read from the event logs on disk), and `vigrelay-client cycles`.

Each test uses practitioner ids of its own, so sessions other tests make on the shared relay do not
show up in its log. Every wait has a deadline."""

from __future__ import annotations

import json
import signal

from vrtest import assert_error, bearer, bye, new_practitioner, run, wait_until


def cycle_log(relay, token: str) -> dict:
    r = relay.http("GET", "/v1/cycles", headers=bearer(token))
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json")
    assert r.headers.get("cache-control") == "no-store"
    return r.json()


def hold(relay, token: str, labels: dict | None) -> dict:
    """Creates a session with `labels` and holds it: the practitioner joins, then the family; both
    stay connected (returned with the session as 'p' and 'f')."""
    s = relay.create_session(token, labels)
    p, _ = relay.join(s["sessionId"], token, "practitioner", role="practitioner", peer_present=False)
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=True)
    s["p"], s["f"] = p, f
    return s


def make_history(relay, token: str) -> dict:
    """fam-a cycle 1 filmed and reviewed, fam-a cycle 2 filmed only with the practitioner there
    (not held), fam-b cycle 1 filmed, and one held session without labels. All have left but the
    fam-a review, which is still under way."""
    film = hold(relay, token, {"caseRef": "fam-a", "cycle": 1, "purpose": "filming"})
    bye(film["f"])
    bye(film["p"])
    alone = relay.create_session(token, {"caseRef": "fam-a", "cycle": 2, "purpose": "filming"})
    p, _ = relay.join(alone["sessionId"], token, "practitioner", role="practitioner")
    bye(p)
    # The family alone, after the practitioner left: in the session, but never with them.
    f, _ = relay.join(alone["sessionId"], alone["inviteToken"], "family", role="family", peer_present=False)
    bye(f)
    other = hold(relay, token, {"caseRef": "fam-b", "cycle": 1, "purpose": "filming"})
    bye(other["p"])
    bye(other["f"])
    unlabelled = hold(relay, token, None)
    bye(unlabelled["f"])
    bye(unlabelled["p"])
    relay.create_session(token, {"caseRef": "fam-c", "cycle": 1, "purpose": "review"})  # planned
    review = hold(relay, token, {"caseRef": "fam-a", "cycle": 1, "purpose": "review"})
    return review


def check_history(body: dict) -> None:
    cases = {c["caseRef"]: c["cycles"] for c in body["cases"]}
    assert list(cases) == ["fam-a", "fam-b", "fam-c"], body
    a1, a2 = cases["fam-a"]
    assert (a1["cycle"], a1["complete"]) == (1, True), a1
    assert a1["filmedAt"] < a1["reviewedAt"], a1
    assert a2 == {"cycle": 2, "complete": False}, "the practitioner and the family were never in at once"
    b1, = cases["fam-b"]
    assert b1["complete"] is False and "filmedAt" in b1 and "reviewedAt" not in b1, b1
    assert cases["fam-c"] == [{"cycle": 1, "complete": False}], "created, never held"
    assert (body["completedCycles"], body["familiesWithCompletedCycles"], body["heldWithoutLabels"]) == (1, 1, 1), body


# --- who may read it -----------------------------------------------------------------------

def test_only_a_practitioner_token_reads_the_cycle_log(relay, forged_token):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {forged_token}"}):
        assert_error(relay.http("GET", "/v1/cycles", headers=headers), 401, "unauthorized")
    _, tok = new_practitioner(relay, "cycles-auth")
    s = relay.create_session(tok)
    assert_error(relay.http("GET", "/v1/cycles", headers=bearer(s["inviteToken"])), 403, "forbidden")
    assert_error(relay.http("POST", "/v1/cycles", headers=bearer(tok)), 405, "method_not_allowed")
    assert cycle_log(relay, tok) == {"cases": [], "completedCycles": 0, "familiesWithCompletedCycles": 0,
                                     "heldWithoutLabels": 0}, "an unlabelled session nobody joined is in no cycle"


# --- what counts -----------------------------------------------------------------------------

def test_held_sessions_make_the_cycle_log_and_a_restart_keeps_it(relay_factory):
    relay = relay_factory()
    _, tok = new_practitioner(relay, "cycles")
    _, other = new_practitioner(relay, "cycles-other")
    hold(relay, other, {"caseRef": "fam-a", "cycle": 1, "purpose": "filming"})
    review = make_history(relay, tok)
    # The review under way counts at once, whether or not the writer has logged its joins yet.
    live = cycle_log(relay, tok)
    check_history(live)
    mine = cycle_log(relay, other)
    assert mine["completedCycles"] == 0 and [c["caseRef"] for c in mine["cases"]] == ["fam-a"], "only their own sessions"
    bye(review["f"])
    bye(review["p"])

    rc, _ = relay.stop()
    assert rc == 0
    relay.start()
    after = cycle_log(relay, tok)
    check_history(after)
    cases = {c["caseRef"]: c["cycles"] for c in after["cases"]}
    live_cases = {c["caseRef"]: c["cycles"] for c in live["cases"]}
    assert cases["fam-a"][0]["filmedAt"] == live_cases["fam-a"][0]["filmedAt"], "the filming's time came from its log"


# --- vigrelay-client cycles ------------------------------------------------------------------

def test_client_cycles_prints_the_log(client_bin, relay, certs):
    _, tok = new_practitioner(relay, "cycles-client")
    review = make_history(relay, tok)
    p = run([client_bin, "cycles", "--server", relay.base_url, "--ca", certs.ca, "--token", tok], timeout=60)
    assert p.returncode == 0, f"cycles exited {p.returncode}: {p.stderr}"
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["CASE", "CYCLE", "FILMING", "(UTC)", "REVIEW", "(UTC)", "STATUS"], p.stdout
    rows = [line.split() for line in lines[1:5]]
    assert [(r[0], r[1], r[-1]) for r in rows] == [("fam-a", "1", "complete"), ("fam-a", "2", "yet"),
                                                   ("fam-b", "1", "do"), ("fam-c", "1", "yet")], p.stdout
    assert lines[5] == "1 complete cycle (filming and review held) with 1 family", p.stdout
    assert lines[6] == "1 held session has no case, cycle or purpose, so it is in no cycle: label it with 'vigrelay-client label' (see 'sessions')", p.stdout
    j = run([client_bin, "cycles", "--server", relay.base_url, "--ca", certs.ca, "--token", tok, "--json"], timeout=60)
    assert j.returncode == 0, j.stderr
    check_history(json.loads(j.stdout))
    bad = run([client_bin, "cycles", "--server", relay.base_url, "--ca", certs.ca, "--token", review["inviteToken"]], timeout=60)
    assert bad.returncode == 3 and "forbidden" in bad.stderr, (bad.returncode, bad.stderr)
    bye(review["f"])
    bye(review["p"])


def test_a_crash_leaves_no_meeting_behind(relay_factory):
    """The practitioner is in when the relay is killed (no `left` is written); after the restart the
    family comes alone. They were never in at once, so the session is not held."""
    relay = relay_factory()
    _, tok = new_practitioner(relay, "cycles-crash")
    s = relay.create_session(tok, {"caseRef": "fam-k", "cycle": 1, "purpose": "filming"})
    p, _ = relay.join(s["sessionId"], tok, "practitioner", role="practitioner")
    log = relay.data_dir / "sessions" / s["sessionId"] / "session.jsonl"
    wait_until(lambda: '"event":"joined"' in log.read_text(), 10, "the practitioner's join in session.jsonl")
    relay.stop(signal.SIGKILL)
    p.close()
    relay.start()
    f, _ = relay.join(s["sessionId"], s["inviteToken"], "family", role="family", peer_present=False)
    assert cycle_log(relay, tok)["cases"] == [{"caseRef": "fam-k", "cycles": [{"cycle": 1, "complete": False}]}]
    p2, _ = relay.join(s["sessionId"], tok, "practitioner", role="practitioner", peer_present=True)
    held = cycle_log(relay, tok)["cases"][0]["cycles"][0]
    assert "filmedAt" in held and held["complete"] is False, held
    bye(p2)
    bye(f)
