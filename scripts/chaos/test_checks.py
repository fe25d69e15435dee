"""Shows that the chaos run's transcript checks fail when they should: each case builds a
client transcript and a stored history with one known violation and asserts that exactly
that violation is reported (and that a clean pair reports none). Run:
`python3 scripts/chaos/test_checks.py`; the last line is `checks: N passed, M failed`."""

import copy
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Client, Turn, check_transcripts  # noqa: E402


def history(session, turns=2):
    events, seq = [], 0
    for n in range(1, turns + 1):
        turn_id = f"t{n}"
        for kind, extra in [("user", {"content": f"q{n}", "client_message_id": f"{session}-m{n}"}),
                            ("turn", {"status": "started"}),
                            ("assistant", {"content": "a", "streaming": True, "message_id": f"m{n}"}),
                            ("assistant", {"content": "a", "streaming": False, "message_id": f"m{n}"}),
                            ("turn", {"status": "completed", "duration_ms": 1})]:
            seq += 1
            events.append({"type": kind, "session_id": session, "seq": seq,
                           "timestamp": "2026-01-01T00:00:00.000000Z", "turn_id": turn_id, **extra})
    return events


def client_with(events, session="chaos-test-000"):
    client = Client(None, 0, session, random.Random(1))
    for event in events:
        client.seen[event["seq"]] = copy.deepcopy(event)
    client.contiguous = len(events)
    for n in range(1, 3):
        turn = Turn(n, f"{session}-m{n}", f"q{n}", None)
        turn.turn_id = f"t{n}"
        client.turns.append(turn)
    return client


def run_case(name, mutate, expect):
    session = "chaos-test-000"
    stored = history(session)
    client = client_with(stored, session)
    mutate(client, stored)
    found = check_transcripts([client], {0: stored})
    reported = {key for key, value in found.items() if key not in ("lost", "foreign") and value}
    if found["foreign"]:
        reported.add("foreign")
    ok = reported == set(expect)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: reported {sorted(reported)}, lost {sum(found['lost'].values())}")
    return ok


def drop_stored(seq):
    def mutate(client, stored):
        stored[:] = [e for e in stored if e["seq"] != seq]
    return mutate


def change_stored(client, stored):
    stored[2]["content"] = "something else"


def duplicate_stored(client, stored):
    stored.insert(3, copy.deepcopy(stored[2]))


def open_turn(client, stored):
    del stored[-1]
    client.seen.pop(len(client.seen))


def conflict(client, stored):
    client.conflicts.append((3, stored[2], {**stored[2], "content": "other"}))


def doubled(client, stored):
    extra = copy.deepcopy(stored[5])
    extra["seq"] = len(stored) + 1
    stored.append(extra)
    client.seen[extra["seq"]] = copy.deepcopy(extra)


def unstored(client, stored):
    turn = Turn(3, "chaos-test-000-m3", "q3", None)
    turn.turn_id = "t3"
    client.turns.append(turn)


def not_caught_up(client, stored):
    client.seen.pop(len(client.seen))


def foreign(client, stored):
    client.foreign = 1


CASES = [
    ("a clean transcript", lambda c, s: None, []),
    ("an event the client saw is not stored (a hole)", drop_stored(4), ["mismatched", "holes", "incomplete"]),
    ("the store holds another event under a seen seq", change_stored, ["mismatched"]),
    ("a seq stored twice", duplicate_stored, ["duplicated", "holes"]),
    ("a turn left started", open_turn, ["open_turns"]),
    ("two different events seen under one seq", conflict, ["conflicts"]),
    ("one client_message_id stored twice", doubled, ["doubled"]),
    ("an accepted message not stored", unstored, ["unstored"]),
    ("a client without the whole history", not_caught_up, ["incomplete"]),
    ("a foreign event", foreign, ["foreign"]),
]


def main():
    results = [run_case(*case) for case in CASES]
    passed = sum(results)
    print(f"checks: {passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
