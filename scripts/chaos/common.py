"""Pieces shared by Bedside's chaos run (chaos.py) and soak (soak.py): the server process,
the WebSocket chat client that keeps a transcript and resumes, the history fetch, and
/proc readings."""

import asyncio
import datetime
import json
import os
import random
import signal
import socket
import subprocess
import time

import aiohttp
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

# Errors a client meets when a connection fails or ends; it then reconnects.
CONNECTION_ERRORS = (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, asyncio.TimeoutError, EOFError)

QUESTIONS = [
    "What are the active conditions of this patient?",
    "Summarise the latest vitals.",
    "Which medications are active?",
    "Any allergies on record?",
    "List recent encounters.",
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return ordered[index]


def log(message):
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", flush=True)


class Server:
    """One `bedside` process at a time on a fixed loopback port, restartable on the same data."""

    def __init__(self, binary, port, args, env, log_path):
        self.binary = binary
        self.port = port
        self.args = args
        self.env = env
        self.log_path = log_path
        self.proc = None
        self.starts = 0

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log_file = open(self.log_path, "a")
        log_file.write(f"---- start {self.starts + 1} at {time.strftime('%H:%M:%S')}\n")
        log_file.flush()
        self.proc = subprocess.Popen(
            [self.binary, "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, start_new_session=True)
        log_file.close()
        self.starts += 1

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no shutdown, no flush, exactly a crash."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout=30):
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def fd_targets(self):
        targets = {}
        for name in os.listdir(f"/proc/{self.proc.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.proc.pid}/fd/{name}")
            except OSError:
                continue
            kind = target.split(":")[0] if ":[" in target else target
            targets[kind] = targets.get(kind, 0) + 1
        return targets

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    async def ready(self, http):
        """(status code, body) of GET /ready, or (None, None) when it cannot be reached."""
        try:
            async with http.get(self.url + "/ready", timeout=aiohttp.ClientTimeout(total=5)) as response:
                return response.status, await response.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            return None, None

    async def wait_ready(self, http, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            status, _ = await self.ready(http)
            if status == 200:
                return True
            await asyncio.sleep(0.2)
        return False


async def fetch_history(http, base, session_id, page=1000):
    """Every stored event of a session, by GET /sessions/{id}/events, paged."""
    events, after = [], 0
    while True:
        url = f"{base}/sessions/{session_id}/events?after={after}&limit={page}"
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=30)) as response:
            if response.status != 200:
                raise RuntimeError(f"GET {url}: {response.status} {await response.text()}")
            body = await response.json()
        events.extend(body["events"])
        if not body["events"] or not body.get("has_more"):
            return events
        after = body["events"][-1]["seq"]


class Turn:
    """One message of a client and what became of it."""

    def __init__(self, number, message_id, content, directive):
        self.number = number
        self.message_id = message_id
        self.content = content
        self.directive = directive
        self.turn_id = None
        self.end = None  # the end `turn` event
        self.refusals = {}
        self.sent_at = None
        self.first_event_at = None
        self.sends = 0


class Client:
    """A chat client of one session: it sends messages one turn at a time, keeps every event it
    receives by seq, and after any drop reconnects and resumes from the newest seq it holds
    without a gap (by `last_seq` on the URL, or by a `resume` frame)."""

    def __init__(self, run, index, session_id, rng):
        self.run = run
        self.index = index
        self.session_id = session_id
        self.rng = rng
        self.seen = {}  # seq -> event (parsed)
        self.contiguous = 0
        self.conflicts = []  # (seq, first, second): two different events under one seq
        self.duplicates = 0
        self.foreign = 0
        self.out_of_order = 0
        self.ws = None
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()
        self.connections = 0
        self.replay_target = 0  # latest_seq of the last `connection` event
        self.turns = []
        self.current = None
        self.next_directive = None
        self.finished = False
        self.stuck = None
        self.latencies = []  # (receive time, seconds from the event's timestamp to receipt), live events
        self.first_event_latencies = []  # (receive time, seconds from sending a message to its first event)
        self.drop_records = []
        self.pending_drop = None
        self.resume_by_frame_next = False
        self.last_delta_at = 0.0
        self.want_connected = True
        self.reader_task = None
        self.connection_errors = {}

    # -- connection ---------------------------------------------------------------------------

    def start(self):
        self.reader_task = asyncio.create_task(self.reader())

    def signal(self):
        self.changed.set()

    async def reader(self):
        delay = 0.1
        first = True
        while not self.finished:
            if not self.want_connected:
                await self.wait_change(1.0)
                continue
            by_frame = self.resume_by_frame_next and not first
            self.resume_by_frame_next = False
            url = f"ws://127.0.0.1:{self.run.server.port}/ws?session_id={self.session_id}"
            if not by_frame:
                url += f"&last_seq={self.contiguous}"
            try:
                async with connect(url, max_size=None, ping_interval=None, open_timeout=20,
                                   close_timeout=2, max_queue=None) as ws:
                    self.ws = ws
                    self.replay_target = 1 << 62  # until this connection's `connection` event says
                    self.connections += 1
                    first = False
                    delay = 0.1
                    if by_frame:
                        await ws.send(json.dumps({"type": "resume", "session_id": self.session_id,
                                                  "last_seq": self.contiguous}))
                    self.connected.set()
                    self.signal()
                    async for raw in ws:
                        self.on_frame(raw)
                        if not self.want_connected:
                            break
            except CONNECTION_ERRORS as error:
                name = type(error).__name__
                self.connection_errors[name] = self.connection_errors.get(name, 0) + 1
            finally:
                self.ws = None
                self.connected.clear()
                self.signal()
            if self.finished:
                break
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 1.0)

    def drop(self, abrupt):
        """Ends the connection at once: abrupt = the TCP connection is cut (no close frame)."""
        ws = self.ws
        if ws is None:
            return False
        if abrupt:
            ws.transport.abort()
        else:
            asyncio.create_task(ws.close())
        return True

    async def disconnect(self):
        self.want_connected = False
        ws = self.ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except CONNECTION_ERRORS:
                pass
            except Exception:  # noqa: BLE001 - a close that fails leaves the socket to the reader
                pass
        while self.ws is not None:
            await self.wait_change(0.5)

    def reconnect(self):
        self.want_connected = True
        self.signal()

    async def catch_up(self, timeout=60):
        """One last connection from the newest seq held: read to the session's latest, close.
        Returns whether the replay reached the latest seq."""
        self.reconnect()
        deadline = time.monotonic() + timeout
        reached = False
        while time.monotonic() < deadline:
            if self.ws is not None and self.replay_target < (1 << 62) and self.contiguous >= self.replay_target:
                reached = True
                break
            await self.wait_change(0.5)
        await self.disconnect()
        self.finished = True
        self.signal()
        if self.reader_task:
            self.reader_task.cancel()
        return reached

    async def wait_change(self, timeout):
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    # -- frames -------------------------------------------------------------------------------

    def on_frame(self, raw):
        now = time.time()
        event = json.loads(raw)
        kind = event.get("type")
        if event.get("session_id") != self.session_id:
            self.foreign += 1
            return
        if kind == "connection":
            self.replay_target = event.get("latest_seq") or 0
            if self.pending_drop is not None:
                self.pending_drop["reconnected_at"] = now
                self.pending_drop["replay_target"] = self.replay_target
            self.check_drop()
            self.signal()
            return
        seq = event.get("seq")
        if seq is None:
            if kind == "error" and self.current is not None:
                code = event.get("code")
                self.current.refusals[code] = self.current.refusals.get(code, 0) + 1
                self.current.last_refusal = code
            self.signal()
            return
        if seq in self.seen:
            if self.seen[seq] != event:
                self.conflicts.append((seq, self.seen[seq], event))
            else:
                self.duplicates += 1
            return
        if seq <= self.contiguous or (self.seen and seq < max(self.seen)):
            self.out_of_order += 1
        self.seen[seq] = event
        while self.contiguous + 1 in self.seen:
            self.contiguous += 1
        if seq > self.replay_target and "timestamp" in event:
            self.latencies.append((now, now - parse_time(event["timestamp"])))
        turn = self.current
        if turn is not None:
            if kind == "user" and event.get("client_message_id") == turn.message_id:
                turn.turn_id = event.get("turn_id")
            if turn.turn_id and event.get("turn_id") == turn.turn_id:
                if turn.first_event_at is None and seq > self.replay_target and turn.sent_at and turn.sends == 1:
                    turn.first_event_at = now
                    self.first_event_latencies.append((now, now - turn.sent_at))
                if kind == "turn" and event.get("status") != "started":
                    turn.end = event
        if kind == "assistant" and event.get("streaming"):
            self.last_delta_at = time.monotonic()
        self.check_drop()
        self.signal()

    def check_drop(self):
        record = self.pending_drop
        if record is not None and "replay_target" in record and self.contiguous >= record["replay_target"]:
            record["resumed"] = True
            record["resumed_in_s"] = round(time.time() - record["at"], 3)
            self.pending_drop = None

    def mid_stream(self):
        turn = self.current
        return (self.ws is not None and turn is not None and turn.turn_id is not None and turn.end is None
                and time.monotonic() - self.last_delta_at < 1.0)

    def turn_running(self):
        turn = self.current
        return self.ws is not None and turn is not None and turn.turn_id is not None and turn.end is None

    # -- chatting -----------------------------------------------------------------------------

    def turn_events(self, turn):
        return [e for e in self.seen.values() if turn.turn_id and e.get("turn_id") == turn.turn_id]

    async def chat_turn(self, number, deadline, directive=None):
        """Sends one message and waits for its turn to end; resends the same client_message_id
        after a refusal or a drop that lost it. Returns False when the deadline passed."""
        tag = f"[chaos s={self.index} n={number}" + (f" tool={directive}" if directive else "") + "]"
        content = f"{tag} {self.rng.choice(QUESTIONS)}"
        turn = Turn(number, f"{self.session_id}-m{number}", content, directive)
        turn.last_refusal = None
        self.current = turn
        self.turns.append(turn)
        while turn.end is None:
            if time.monotonic() > deadline:
                self.stuck = f"turn {number} ({turn.message_id}) did not end: turn_id {turn.turn_id}"
                return False
            if self.ws is None or self.contiguous < self.replay_target:
                await self.wait_change(0.5)
                continue
            if turn.turn_id is not None:
                await self.wait_change(1.0)
                continue
            ws = self.ws
            turn.last_refusal = None
            try:
                turn.sent_at = turn.sent_at or time.time()
                turn.sends += 1
                await ws.send(json.dumps({"type": "message", "session_id": self.session_id,
                                          "content": content, "client_message_id": turn.message_id}))
            except CONNECTION_ERRORS:
                # The connection is gone; the reader notices and reconnects. Wait for it, never spin.
                while self.ws is ws:
                    await self.wait_change(0.5)
                continue
            wait_until = time.monotonic() + 15
            while turn.turn_id is None and turn.last_refusal is None and self.ws is ws and time.monotonic() < wait_until:
                await self.wait_change(0.5)
            if turn.last_refusal is not None:
                # busy, store_unavailable, too_many_turns: the message was not stored; send it again later.
                await asyncio.sleep(0.5 + self.rng.random())
        return True


def check_transcripts(clients, histories):
    """Compares each client's transcript with its session's stored history (seq -> event).

    Returns the problems found: events a client saw that the store lacks or holds differently
    (`mismatched`), clients that do not hold the whole history (`incomplete`), seqs under which
    a client saw two different events (`conflicts`), stored histories with a duplicated seq
    (`duplicated`) or a hole (`holes`), turns with no end (`open_turns`), client_message_ids
    stored twice (`doubled`) or accepted but not stored (`unstored`), foreign events, and the
    lost events per session (`lost`: seen but not stored as seen, holes, accepted messages not
    stored)."""
    found = {key: [] for key in ["mismatched", "incomplete", "conflicts", "duplicated", "holes", "open_turns",
                                 "doubled", "unstored"]}
    found["foreign"] = 0
    found["lost"] = {}
    for client in clients:
        stored = histories[client.index]
        seqs = [e["seq"] for e in stored]
        by_seq = {e["seq"]: e for e in stored}
        lost_seqs = set()
        if len(set(seqs)) != len(seqs):
            found["duplicated"].append(client.index)
        if seqs != list(range(1, len(seqs) + 1)):
            found["holes"].append((client.index, len(seqs), max(seqs) if seqs else 0))
            lost_seqs.update(set(range(1, max(seqs) + 1)) - set(seqs) if seqs else set())
        for seq, event in client.seen.items():
            if by_seq.get(seq) != event:
                found["mismatched"].append((client.index, seq))
                lost_seqs.add(seq)
        lost = len(lost_seqs)
        if set(client.seen) != set(by_seq):
            found["incomplete"].append((client.index, len(client.seen), len(by_seq)))
        found["conflicts"].extend((client.index, seq) for seq, _, _ in client.conflicts)
        found["foreign"] += client.foreign
        ends, starts, users = set(), set(), {}
        for event in stored:
            if event.get("type") == "turn":
                if event.get("status") == "started":
                    starts.add(event.get("turn_id"))
                else:
                    ends.add(event.get("turn_id"))
            if event.get("type") == "user":
                users.setdefault(event.get("client_message_id"), []).append(event)
                starts.add(event.get("turn_id"))
        found["open_turns"].extend((client.index, t) for t in starts if t not in ends)
        found["doubled"].extend((client.index, m) for m, events in users.items() if len(events) > 1)
        for turn in client.turns:
            if turn.turn_id is not None and turn.message_id not in users:
                found["unstored"].append((client.index, turn.message_id))
                lost += 1
        found["lost"][client.index] = lost
    return found


def transcript_checks(found, clients, histories):
    """The transcript checks as (name, passed, detail)."""
    events = sum(len(h) for h in histories.values())
    return [
        ("every client's transcript equals the stored history for the events it saw", not found["mismatched"],
         f"{len(found['mismatched'])} differ, e.g. {found['mismatched'][:5]}" if found["mismatched"]
         else f"{sum(len(c.seen) for c in clients)} events compared"),
        ("every client holds the whole stored history after catching up", not found["incomplete"],
         f"{found['incomplete'][:5]}"),
        ("no client saw two different events under one seq", not found["conflicts"], f"{found['conflicts'][:5]}"),
        ("no seq duplicated in any stored history", not found["duplicated"], f"{found['duplicated'][:5]}"),
        ("no seq missing in any stored history (dense 1..N)", not found["holes"],
         f"{found['holes'][:5]}" if found["holes"] else f"{len(histories)} sessions, {events} events"),
        ("no turn left started (every user message's turn has an end)", not found["open_turns"],
         f"{found['open_turns'][:5]}"),
        ("each client_message_id stored once; every accepted message stored",
         not found["doubled"] and not found["unstored"],
         f"twice: {found['doubled'][:5]}, unstored: {found['unstored'][:5]}"),
        ("no foreign events", found["foreign"] == 0, f"{found['foreign']}"),
        ("no client stuck waiting for a turn", not any(c.stuck for c in clients),
         f"{[c.index for c in clients if c.stuck][:5]}"),
    ]
