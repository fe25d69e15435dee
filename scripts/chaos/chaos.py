"""Bedside's chaos run: many sessions chat over WebSocket while faults are injected, then every
client's transcript is checked against the server's stored history.

Faults: client drops mid-stream (each followed by a resume), the server SIGKILLed and
restarted on the same data, a fake model answering a share of requests with 429, 500, a stall
or a garbled chunk, an MCP server killed in the middle of a slow call, the OTLP collector
taken down, and the event store's filesystem (a tmpfs) filled up and freed again.

Phases: A, chaos with the server kills; B, warm-up on the last server process, then every
client disconnects and the server's open descriptors and RSS are measured (their level);
C, chaos again without kills; then every client finishes its turn, catches up and
disconnects, and after a settle period the descriptors and RSS are compared with the level.

Everything runs on 127.0.0.1, bounded in time and count. Exit status 0 when every check
passes; the last line is `chaos: N passed, M failed`.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (Client, Server, check_transcripts, fetch_history, free_port, log, parse_time,  # noqa: E402
                    percentile, transcript_checks)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROFILES = {
    # 100 sessions, 100 drops, 3 server kills, 3 MCP kills (one in the warm-up before the level,
    # one after it), 1 fill of the store's filesystem.
    "full": dict(sessions=100, phase_a=240, warm=30, phase_c=150, kills=3, drops=100, drops_a=70, mcp_kills_a=1,
                 mcp_kills_b=1, mcp_kills_c=1, fills=1, think=(2.0, 6.0), settle=10, max_stalls=0, deadline=1500),
    # CI: every kind of fault at least once, in about two minutes.
    "quick": dict(sessions=16, phase_a=36, warm=8, phase_c=28, kills=1, drops=10, drops_a=6, mcp_kills_a=0,
                  mcp_kills_b=1, mcp_kills_c=1, fills=1, think=(1.0, 3.0), settle=5, max_stalls=1, deadline=300),
}


class Chaos:
    def __init__(self, args):
        self.args = args
        self.p = dict(PROFILES["quick" if args.quick else "full"])
        if args.sessions:
            self.p["sessions"] = args.sessions
        self.seed = args.seed if args.seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.mode = "run"
        self.clients = []
        self.kills, self.drops, self.mcp_kills, self.fills, self.otlp = [], [], [], [], {}
        self.baseline = {}
        self.final = {}
        self.checks = []
        self.notes = []
        self.procs = []
        self.mounted = None
        self.started = time.monotonic()
        self.turn_deadline = 90 if args.quick else 180

    # -- set-up -------------------------------------------------------------------------------

    def setup(self):
        if self.args.work:
            os.makedirs(self.args.work, exist_ok=True)
            self.work = self.args.work
        else:
            self.work = tempfile.mkdtemp(prefix="bedside-chaos-")
        self.data = os.path.join(self.work, "events")
        os.makedirs(self.data)
        self.mcp_state = os.path.join(self.work, "mcp")
        os.makedirs(self.mcp_state)
        if self.p["fills"] and not self.args.no_fill:
            if os.geteuid() != 0:
                raise SystemExit("chaos: the filled-disk fault mounts a tmpfs and needs root (or pass --no-fill)")
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.args.tmpfs_size}", "tmpfs", self.data], check=True)
            self.mounted = self.data
        self.model_port, self.collector_port, port = free_port(), free_port(), free_port()
        self.collector_log = os.path.join(self.work, "otlp.log")
        open(self.collector_log, "w").close()
        self.fake_model = self.spawn([sys.executable, os.path.join(HERE, "fake_model.py"), "--port", str(self.model_port),
                                      "--seed", str(self.seed), "--fault-share", str(self.args.fault_share),
                                      "--max-stalls", str(self.p["max_stalls"])], "fake-model.log")
        self.collector = self.spawn([sys.executable, os.path.join(HERE, "collector.py"), str(self.collector_port),
                                     self.collector_log], "collector.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "OTEL_", "BEDSIDE_"))}
        env.update({
            "OPENAI_BASE_URL": f"http://127.0.0.1:{self.model_port}/v1",
            "OPENAI_API_KEY": "chaos-key",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.collector_port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        })
        mcp = {"mcpServers": {"chaos": {"command": sys.executable,
                                        "args": [os.path.join(HERE, "mcp_slow.py"), self.mcp_state]}}}
        server_args = [
            "--database", os.path.join(self.data, "events.sqlite"),
            "--fhir-database", os.path.join(self.work, "fhir.sqlite"),
            "--auth-database", os.path.join(self.work, "auth.sqlite"),
            "--seed-patients", "20", "--llm", "openai", "--model", "chaos-model",
            "--mcp-config", json.dumps(mcp), "--log-level", "notice",
            # One client address runs every session: lift the per-client limits (0 = unlimited).
            "--max-connections", "0", "--max-connections-per-address", "0", "--max-connections-per-session", "0",
            "--max-messages-per-second", "0", "--max-resumes-per-second", "0", "--max-turns-per-minute", "0",
            "--max-concurrent-turns", "0", *self.args.server_arg,
        ]
        self.server_log = os.path.join(self.work, "bedside.log")
        self.server = Server(self.args.bedside, port, server_args, env, self.server_log)

    def spawn(self, command, log_name):
        handle = open(os.path.join(self.work, log_name), "a")
        proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        handle.close()
        self.procs.append(proc)
        return proc

    def cleanup(self, passed):
        self.mode = "stop"
        try:
            if self.server is not None:
                self.server.stop(20)
        except Exception as error:  # noqa: BLE001 - clean-up goes on
            log(f"stopping the server: {error}")
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.kill_mcp_leftovers()
        if self.mounted:
            for _ in range(20):
                if subprocess.run(["umount", self.mounted], capture_output=True).returncode == 0:
                    self.mounted = None
                    break
                time.sleep(0.5)
            if self.mounted:
                log(f"could not unmount {self.mounted}")
        if passed and not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work} (server log: {self.server_log})")

    def kill_mcp_leftovers(self):
        try:
            with open(os.path.join(self.mcp_state, "pid")) as handle:
                pid = int(handle.read().strip())
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass

    # -- clients ------------------------------------------------------------------------------

    async def client_loop(self, client):
        client.start()
        number = 0
        client.paused = False
        client.done = False
        client.probe_for = None
        while self.mode != "stop" and client.stuck is None:
            if self.mode == "pause":
                await client.disconnect()
                client.paused = True
                while self.mode == "pause":
                    await asyncio.sleep(0.2)
                client.paused = False
                client.reconnect()
                continue
            number += 1
            directive, client.next_directive = client.next_directive, None
            ok = await client.chat_turn(number, time.monotonic() + self.turn_deadline, directive)
            if not ok:
                log(f"client {client.index}: {client.stuck}")
                break
            self.after_turn(client, client.current)
            think = self.rng.uniform(*self.p["think"])
            end = time.monotonic() + think
            while time.monotonic() < end and self.mode == "run" and client.next_directive is None:
                await asyncio.sleep(0.2)
        client.done = True

    def after_turn(self, client, turn):
        record = client.probe_for
        if record is None or turn.directive is None:
            return
        events = client.turn_events(turn)
        results = [e for e in events if e.get("type") == "tool_result" and str(e.get("tool_name", "")).endswith("slow_read")]
        if turn.directive.startswith("slow:20"):
            record["killed_call_result_error"] = bool(results) and all(e.get("is_error") for e in results)
            record["killed_call_turn_end"] = (turn.end or {}).get("status")
            client.next_directive = "slow:0.2"
            record["probes"] = 0
        else:
            record["probes"] = record.get("probes", 0) + 1
            if results and not any(e.get("is_error") for e in results):
                record["probe_ok"] = True
                record["probe_turn"] = turn.number
                client.probe_for = None
            elif record["probes"] < 8:
                client.next_directive = "slow:0.2"
            else:
                client.probe_for = None

    async def catch_up(self, client):
        if not await client.catch_up():
            self.notes.append(f"client {client.index}: catch-up incomplete ({client.contiguous} of {client.replay_target})")

    # -- faults -------------------------------------------------------------------------------

    def active(self):
        return [c for c in self.clients if c.stuck is None and not getattr(c, "done", False)]

    async def inject_drop(self):
        deadline = time.monotonic() + 10
        candidates = []
        while time.monotonic() < deadline:
            candidates = [c for c in self.active() if c.mid_stream() and c.pending_drop is None]
            if candidates:
                break
            await asyncio.sleep(0.1)
        if not candidates:
            candidates = [c for c in self.active() if c.turn_running() and c.pending_drop is None]
        if not candidates:
            candidates = [c for c in self.active() if c.ws is not None and c.pending_drop is None]
        if not candidates:
            self.notes.append("a drop found no connected client")
            return
        client = self.rng.choice(candidates)
        abrupt = self.rng.random() < 0.5
        by_frame = self.rng.random() < 0.5
        record = {"client": client.index, "at": time.time(), "mid_stream": client.mid_stream(),
                  "turn_running": client.turn_running(), "abrupt": abrupt, "resume": "frame" if by_frame else "url",
                  "held_seq": client.contiguous}
        client.resume_by_frame_next = by_frame
        client.pending_drop = record
        self.drops.append(record)
        if not client.drop(abrupt):
            record["missed"] = True
            client.pending_drop = None

    async def inject_kill(self, http):
        record = {"at": time.time(), "turns_running": sum(1 for c in self.clients if c.turn_running()),
                  "model_requests_in_flight": None}
        self.kills.append(record)
        log(f"SIGKILL server pid {self.server.pid} ({record['turns_running']} turns running)")
        self.server.kill()
        await asyncio.sleep(self.rng.uniform(0.3, 2.0))
        self.server.start()
        started = time.monotonic()
        record["ready"] = await self.server.wait_ready(http, 120)
        record["ready_after_s"] = round(time.monotonic() - started, 2)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            behind = [c for c in self.active() if c.want_connected and
                      (c.ws is None or c.replay_target >= (1 << 62) or c.contiguous < c.replay_target)]
            if not behind:
                record["clients_back_after_s"] = round(time.monotonic() - started, 2)
                break
            await asyncio.sleep(0.2)
        log(f"server back: ready after {record['ready_after_s']} s, clients back after "
            f"{record.get('clients_back_after_s')} s")

    async def mcp_ready(self, http, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.server.ready(http)
            for source in (body or {}).get("mcp", []) or []:
                if source.get("name") == "chaos" and source.get("state") == "ready":
                    return True
            await asyncio.sleep(0.3)
        return False

    def mcp_starts(self):
        try:
            with open(os.path.join(self.mcp_state, "calls")) as handle:
                return [line.split() for line in handle if line.startswith("start ")]
        except OSError:
            return []

    async def inject_mcp_kill(self, http):
        record = {"attempts": 0}
        self.mcp_kills.append(record)
        for _ in range(4):
            record["attempts"] += 1
            if not await self.mcp_ready(http, 40):
                record.setdefault("notes", []).append("MCP server not ready")
                continue
            candidates = [c for c in self.active() if c.ws is not None and c.next_directive is None and
                          c.probe_for is None and (c.current is None or c.current.end is not None)]
            if not candidates:
                await asyncio.sleep(1)
                continue
            client = self.rng.choice(candidates)
            before = len(self.mcp_starts())
            client.probe_for = record
            client.next_directive = "slow:20"
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and len(self.mcp_starts()) <= before:
                await asyncio.sleep(0.1)
            if len(self.mcp_starts()) <= before:
                record.setdefault("notes", []).append(f"client {client.index}: no call reached the MCP server")
                client.probe_for = None
                continue
            await asyncio.sleep(self.rng.uniform(0.3, 1.0))
            try:
                with open(os.path.join(self.mcp_state, "pid")) as handle:
                    pid = int(handle.read().strip())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError) as error:
                record.setdefault("notes", []).append(f"kill failed: {error}")
                client.probe_for = None
                continue
            record.update({"client": client.index, "turn": client.current.number if client.current else None,
                           "pid": pid, "at": time.time(), "killed": True})
            log(f"SIGKILL MCP server pid {pid} mid-call (client {client.index})")
            return
        log("MCP kill: no call could be caught")

    async def inject_otlp_down(self):
        with open(self.collector_log) as handle:
            exports = sum(1 for _ in handle)
        self.otlp = {"exports_before_down": exports, "at": time.time()}
        self.collector.terminate()
        self.collector.wait(5)
        log(f"OTLP collector stopped after {exports} exports; its port is closed from now on")

    async def inject_fill(self, http):
        record = {"at": time.time()}
        self.fills.append(record)
        if self.args.no_fill or not self.mounted:
            record["skipped"] = True
            return
        path = os.path.join(self.data, "filler")
        fd = os.open(path, os.O_CREAT | os.O_WRONLY)
        stats = os.statvfs(self.data)
        free = stats.f_bavail * stats.f_frsize
        try:
            if free > 0:
                os.posix_fallocate(fd, 0, free)
        except OSError:
            pass
        os.lseek(fd, 0, os.SEEK_END)
        chunk = b"\0" * 4096
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                break
        os.close(fd)
        record["filler_bytes"] = os.path.getsize(path)
        log(f"store's filesystem full ({record['filler_bytes']} bytes of filler)")
        full_at = time.monotonic()
        refused_before = self.count_refusals("store_unavailable")
        record["ready_trace"] = trace = []
        while time.monotonic() < full_at + self.args.fill_wait:
            status, body = await self.server.ready(http)
            trace.append((round(time.monotonic() - full_at, 2), status, (body or {}).get("unwritten_events")))
            if status == 503:
                record["ready_503_after_s"] = round(time.monotonic() - full_at, 2)
                break
            await asyncio.sleep(0.25)
        await asyncio.sleep(self.args.fill_hold)
        record["refusals_while_full"] = self.count_refusals("store_unavailable") - refused_before
        os.unlink(path)
        record["held_s"] = round(time.monotonic() - full_at, 2)
        freed_at = time.monotonic()
        log(f"filler deleted after {record['held_s']} s (/ready 503 after {record.get('ready_503_after_s')} s)")
        while time.monotonic() < freed_at + 90:
            status, body = await self.server.ready(http)
            trace.append((round(time.monotonic() - full_at, 2), status, (body or {}).get("unwritten_events")))
            if status == 200:
                record["ready_200_after_s"] = round(time.monotonic() - freed_at, 2)
                break
            await asyncio.sleep(0.25)
        record["freed_at"] = time.time()
        log("/ready while full and after (s since full, status, unwritten events): " +
            " ".join(f"{t}:{st}:{u}" for t, st, u in trace))

    def count_refusals(self, code):
        return sum(t.refusals.get(code, 0) for c in self.clients for t in c.turns)

    # -- phases -------------------------------------------------------------------------------

    def spread(self, count, start, end, gap=0.0):
        for _ in range(1000):
            times = sorted(self.rng.uniform(start, end) for _ in range(count))
            if all(b - a >= gap for a, b in zip(times, times[1:])):
                return times
        return [start + (end - start) * (i + 0.5) / count for i in range(count)]

    async def at(self, origin, offset, coroutine):
        delay = origin + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await coroutine

    async def phase_a(self, http):
        length = self.p["phase_a"]
        origin = time.monotonic()
        tasks = []
        kill_times = self.spread(self.p["kills"], 0.15 * length, 0.85 * length, gap=0.18 * length)

        async def kills():
            for offset in kill_times:
                await self.at(origin, offset, self.inject_kill(http))
        tasks.append(asyncio.create_task(kills()))
        for offset in self.spread(self.p["drops_a"], 0.05 * length, 0.95 * length):
            tasks.append(asyncio.create_task(self.at(origin, offset, self.inject_drop())))
        for offset in self.spread(self.p["mcp_kills_a"], 0.1 * length, 0.5 * length):
            tasks.append(asyncio.create_task(self.at(origin, offset, self.inject_mcp_kill(http))))
        tasks.append(asyncio.create_task(self.at(origin, 0.3 * length, self.inject_otlp_down())))
        await asyncio.sleep(length)
        await asyncio.gather(*tasks)

    async def pause_all(self, timeout):
        self.mode = "pause"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(getattr(c, "paused", False) or c.stuck is not None or getattr(c, "done", False) for c in self.clients):
                return True
            await asyncio.sleep(0.2)
        return False

    async def measure(self, label, settle):
        await asyncio.sleep(settle)
        fds, rss = [], []
        for _ in range(5):
            fds.append(self.server.fds())
            rss.append(self.server.rss_kb())
            await asyncio.sleep(1)
        result = {"fds": sorted(fds)[2], "rss_kb": sorted(rss)[2], "fd_samples": fds, "rss_samples": rss,
                  "fd_kinds": self.server.fd_targets(), "pid": self.server.pid}
        log(f"{label}: {result['fds']} descriptors, RSS {result['rss_kb'] / 1024:.1f} MiB (pid {self.server.pid})")
        return result

    async def read_burst(self, http):
        """Many history and patient reads at once, so that the event store's and the FHIR store's
        pools of reader connections grow to their bound (4 each) before the level is taken:
        SQLite readers are opened on demand and then kept."""
        async def read(client):
            try:
                await fetch_history(http, self.server.url, client.session_id, page=200)
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as error:
                self.notes.append(f"warm-up read of {client.session_id}: {error}")
        patients = sorted(self.patient_ids())[:32]

        async def read_patient(patient):
            try:
                async with http.get(f"{self.server.url}/patient/{patient}", timeout=aiohttp.ClientTimeout(total=30)) as r:
                    await r.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                self.notes.append(f"warm-up read of patient {patient}: {error}")
        for _ in range(3):
            await asyncio.gather(*[read(c) for c in self.clients[:32]], *[read_patient(p) for p in patients])

    def patient_ids(self):
        """Patient ids from the find_patients results the clients received."""
        ids = set()
        for client in self.clients:
            for event in client.seen.values():
                if event.get("type") == "tool_result" and event.get("tool_name") == "find_patients":
                    try:
                        ids.update(p["id"] for p in json.loads(event.get("result", ""))["patients"])
                    except (ValueError, KeyError, TypeError):
                        pass
        return ids

    async def phase_b(self, http):
        await asyncio.sleep(self.p["warm"] / 2)
        await self.read_burst(http)
        # A warm-up touches every path once: an MCP server restart among them.
        for _ in range(self.p["mcp_kills_b"]):
            await self.inject_mcp_kill(http)
        await asyncio.sleep(self.p["warm"] / 2)
        if not await self.pause_all(self.turn_deadline):
            self.notes.append("not every client paused for the level measurement")
        await self.mcp_ready(http, 30)
        self.baseline = await self.measure("level (after warm-up, no client connected)", self.p["settle"])
        self.mode = "run"

    async def phase_c(self, http):
        length = self.p["phase_c"]
        origin = time.monotonic()
        tasks = []
        for offset in self.spread(self.p["drops"] - self.p["drops_a"], 0.05 * length, 0.9 * length):
            tasks.append(asyncio.create_task(self.at(origin, offset, self.inject_drop())))
        for offset in self.spread(self.p["mcp_kills_c"], 0.05 * length, 0.2 * length):
            tasks.append(asyncio.create_task(self.at(origin, offset, self.inject_mcp_kill(http))))
        for offset in self.spread(self.p["fills"], 0.3 * length, 0.4 * length):
            tasks.append(asyncio.create_task(self.at(origin, offset, self.inject_fill(http))))
        await asyncio.sleep(length)
        await asyncio.gather(*tasks)

    async def finish(self, http, loops):
        self.mode = "stop"
        done, pending = await asyncio.wait(loops, timeout=self.turn_deadline + 10)
        for task in pending:
            task.cancel()
        if pending or any(c.stuck for c in self.clients):
            await self.diagnose(http)
        await asyncio.gather(*[self.catch_up(c) for c in self.clients])
        await self.mcp_ready(http, 30)
        # Back to the level: poll descriptors for a while (an exporter retry may hold one briefly).
        await asyncio.sleep(self.p["settle"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.server.fds() > self.baseline.get("fds", 0):
            await asyncio.sleep(0.5)
        self.final = await self.measure("end (all clients gone, settled)", 0)

    async def diagnose(self, http):
        """Says what the clients that did not finish were waiting for, and what the server holds."""
        status, body = await self.server.ready(http)
        log(f"diagnosis: /ready {status} {json.dumps(body)[:600]}")
        for client in self.clients:
            if not client.stuck and getattr(client, "done", False):
                continue
            turn = client.current
            tail = [(e.get("seq"), e.get("type"), e.get("status") or e.get("code")) for e in
                    sorted(client.seen.values(), key=lambda e: e["seq"])[-4:]]
            try:
                stored = await fetch_history(http, self.server.url, client.session_id)
                stored_tail = [(e.get("seq"), e.get("type"), e.get("status") or e.get("code")) for e in stored[-4:]]
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as error:
                stored_tail = f"unreadable: {error}"
            log(f"diagnosis: client {client.index} {client.session_id} connected {client.ws is not None} "
                f"held {client.contiguous}/{client.replay_target}; turn {turn.number if turn else None} "
                f"{turn.message_id if turn else ''} turn_id {turn.turn_id if turn else None} sends "
                f"{turn.sends if turn else 0} refusals {turn.refusals if turn else {}}; seen tail {tail}; "
                f"stored tail {stored_tail}")

    # -- checks -------------------------------------------------------------------------------

    def check(self, name, ok, detail=""):
        self.checks.append((name, bool(ok), detail))

    async def verify(self, http):
        status, ready = await self.server.ready(http)
        histories = {}
        for client in self.clients:
            histories[client.index] = await fetch_history(http, self.server.url, client.session_id)
        found = check_transcripts(self.clients, histories)
        self.histories = histories
        total_lost = sum(found["lost"].values())
        self.figures = {"events_stored": sum(len(h) for h in histories.values()), "lost_events": total_lost}
        for name, ok, detail in transcript_checks(found, self.clients, histories):
            self.check(name, ok, detail)
        self.check("server up at the end (/ready 200)", status == 200, f"{status}")
        level, end = self.baseline.get("fds"), self.final.get("fds")
        growth = descriptor_growth(self.baseline.get("fd_kinds", {}), self.final.get("fd_kinds", {}))
        unbounded = {kind: n for kind, n in growth.items()
                     if not (is_pool_file(kind) and self.final["fd_kinds"][kind] <= POOL_BOUND)
                     and not (kind == "anon_inode" and n <= RUN_LOOP_DESCRIPTORS)}
        self.figures["fd_growth"] = growth
        self.check("open descriptors back to their level", level is not None and end is not None and not unbounded,
                   f"level {level}, end {end}" + (f", grew: {growth}" if growth else "") +
                   (" (within the bounds: SQLite pools, one run loop)" if growth and not unbounded else ""))
        rss_level, rss_end = self.baseline.get("rss_kb"), self.final.get("rss_kb")
        self.check("RSS within 10% of its level", rss_level and rss_end and abs(rss_end - rss_level) <= 0.1 * rss_level,
                   f"level {rss_level / 1024 if rss_level else 0:.1f} MiB, end {rss_end / 1024 if rss_end else 0:.1f} MiB")
        self.check("lost events: 0", total_lost == 0, f"{total_lost}")
        self.lost_by_session = found["lost"]
        await self.fault_table(http)

    async def fault_table(self, http):
        async with http.get(f"http://127.0.0.1:{self.model_port}/faults") as response:
            model = await response.json()
        by_client = {c.index: c for c in self.clients}
        rows = []

        def lost_in(indices):
            return sum(self.lost_by_session.get(i, 0) for i in set(indices))

        every = list(by_client)
        # Server kills: restarted, ready, the clients back and caught up.
        ok = [k for k in self.kills if k.get("ready") and "clients_back_after_s" in k]
        interrupted = sum(1 for h in self.histories.values() for e in h
                          if e.get("type") == "turn" and e.get("reason") == "interrupted")
        rows.append(("server SIGKILL + restart", len(self.kills), len(ok), lost_in(every),
                     f"{interrupted} turns ended interrupted; ready after "
                     f"{', '.join(str(k.get('ready_after_s')) for k in self.kills)} s"))
        # Client drops: the client reconnected and its replay reached the session's latest seq.
        ok = [d for d in self.drops if d.get("resumed")]
        mid = sum(1 for d in self.drops if d.get("mid_stream"))
        rows.append(("client drop + resume", len(self.drops), len(ok), lost_in(d["client"] for d in self.drops),
                     f"{mid} mid-stream, {sum(1 for d in self.drops if d['abrupt'])} cut without close, "
                     f"{sum(1 for d in self.drops if d['resume'] == 'frame')} resumed by frame"))
        # Model faults: the turn the faulted request belonged to ended (and was stored ending).
        for kind in ["429", "500", "stall", "garbled"]:
            faults = [f for f in model["faults"] if f["kind"] == kind]
            survived, outcomes = 0, {}
            for fault in faults:
                end = self.turn_end(fault["client"], fault["turn"])
                if end is not None:
                    survived += 1
                    key = end.get("status")
                    outcomes[key] = outcomes.get(key, 0) + 1
            rows.append((f"model {kind}", len(faults), survived, lost_in(f["client"] for f in faults),
                         ", ".join(f"{v} {k}" for k, v in sorted(outcomes.items()))))
        # MCP kills: the killed call gave an error result, the turn ended, a later call succeeded.
        killed = [m for m in self.mcp_kills if m.get("killed")]
        ok = [m for m in killed if m.get("killed_call_result_error") and m.get("killed_call_turn_end") and m.get("probe_ok")]
        rows.append(("MCP server killed mid-call", len(killed), len(ok), lost_in(m["client"] for m in killed),
                     "; ".join(f"call error {m.get('killed_call_result_error')}, turn {m.get('killed_call_turn_end')}, "
                               f"next call ok {m.get('probe_ok', False)}" for m in killed)))
        # OTLP collector down: spans went out before, turns went on completing after.
        down_at = self.otlp.get("at")
        completed_after = sum(1 for c in self.clients for t in c.turns if t.end and t.end.get("status") == "completed"
                              and down_at and parse_end(t.end) > down_at)
        traced = sum(1 for h in self.histories.values() for e in h if e.get("trace_id"))
        otlp_ok = bool(self.otlp) and self.otlp.get("exports_before_down", 0) > 0 and completed_after > 0 and traced > 0
        rows.append(("OTLP collector down", 1 if self.otlp else 0, 1 if otlp_ok else 0, lost_in(every),
                     f"{self.otlp.get('exports_before_down')} exports before, {completed_after} turns completed after"))
        # Filled filesystem: /ready 503 while full, 200 again, turns ended store_unavailable, the
        # refused messages resent and stored once, work went on.
        for fill in self.fills:
            if fill.get("skipped"):
                continue
            ended = sum(1 for h in self.histories.values() for e in h
                        if e.get("type") == "error" and e.get("code") == "store_unavailable")
            completed_after = sum(1 for c in self.clients for t in c.turns if t.end and t.end.get("status") == "completed"
                                  and parse_end(t.end) > fill.get("freed_at", 1e20))
            fill["turns_failed_store_unavailable"] = ended
            fill["completed_after"] = completed_after
            ok = ("ready_503_after_s" in fill and "ready_200_after_s" in fill and completed_after > 0)
            rows.append(("store's filesystem full", 1, 1 if ok else 0, lost_in(every),
                         f"/ready 503 after {fill.get('ready_503_after_s')} s, 200 again {fill.get('ready_200_after_s')} s "
                         f"after freeing; {ended} turns ended store_unavailable; {fill.get('refusals_while_full')} "
                         f"messages refused; {completed_after} turns completed after"))
        self.rows = rows
        self.model_stats = model
        expected = {"server SIGKILL + restart": self.p["kills"], "client drop + resume": self.p["drops"],
                    "MCP server killed mid-call": self.p["mcp_kills_a"] + self.p["mcp_kills_b"] + self.p["mcp_kills_c"],
                    "OTLP collector down": 1}
        if not self.args.no_fill:
            expected["store's filesystem full"] = self.p["fills"]
        for name, injected, survived, lost, _ in rows:
            want = expected.get(name, 1)
            self.check(f"fault '{name}': injected {injected} (at least {want}), all survived, 0 lost",
                       injected >= want and survived == injected and lost == 0,
                       f"injected {injected}, survived {survived}, lost {lost}")
        if self.args.no_fill:
            self.notes.append("the filled-disk fault was skipped (--no-fill)")

    def turn_end(self, index, number):
        history = self.histories.get(index, [])
        message_id = f"{self.clients[index].session_id}-m{number}"
        turn_id = next((e.get("turn_id") for e in history if e.get("type") == "user"
                        and e.get("client_message_id") == message_id), None)
        if turn_id is None:
            return None
        return next((e for e in history if e.get("type") == "turn" and e.get("turn_id") == turn_id
                     and e.get("status") != "started"), None)

    # -- report -------------------------------------------------------------------------------

    def report(self):
        elapsed = time.monotonic() - self.started
        turns = [t for c in self.clients for t in c.turns]
        statuses = {}
        for turn in turns:
            key = (turn.end or {}).get("status", "none")
            statuses[key] = statuses.get(key, 0) + 1
        latencies = [s for c in self.clients for _, s in c.latencies]
        print()
        print(f"Bedside chaos run ({'quick' if self.args.quick else 'full'}), seed {self.seed}, "
              f"{elapsed:.0f} s, {len(self.clients)} sessions, {len(turns)} turns "
              f"({', '.join(f'{v} {k}' for k, v in sorted(statuses.items()))}), "
              f"{self.figures.get('events_stored')} events stored, {self.model_stats.get('requests')} model requests")
        print(f"delivery latency (event timestamp to client receipt) p50 {1000 * (percentile(latencies, 0.5) or 0):.1f} ms, "
              f"p99 {1000 * (percentile(latencies, 0.99) or 0):.1f} ms")
        print()
        print(f"{'fault':32} {'injected':>8} {'survived':>8} {'lost':>5}  detail")
        for name, injected, survived, lost, detail in self.rows:
            print(f"{name:32} {injected:>8} {survived:>8} {lost:>5}  {detail}")
        print()
        for note in self.notes:
            print(f"note: {note}")
        passed = sum(1 for _, ok, _ in self.checks if ok)
        failed = len(self.checks) - passed
        for name, ok, detail in self.checks:
            print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and (not ok or self.args.verbose) else ""))
        result = {
            "profile": "quick" if self.args.quick else "full", "seed": self.seed, "elapsed_s": round(elapsed, 1),
            "sessions": len(self.clients), "turns": len(turns), "turn_ends": statuses, "figures": self.figures,
            "model_requests": self.model_stats.get("requests"),
            "delivery_ms": {"p50": 1000 * (percentile(latencies, 0.5) or 0), "p99": 1000 * (percentile(latencies, 0.99) or 0)},
            "faults": [dict(zip(["fault", "injected", "survived", "lost", "detail"], row)) for row in self.rows],
            "kills": self.kills, "drops": len(self.drops), "mcp_kills": self.mcp_kills, "fills": self.fills,
            "otlp": self.otlp, "level": self.baseline, "end": self.final,
            "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in self.checks], "notes": self.notes,
        }
        if self.args.report:
            with open(self.args.report, "w") as handle:
                json.dump(result, handle, indent=1, default=str)
        print(f"chaos: {passed} passed, {failed} failed")
        return failed == 0

    # -- main ---------------------------------------------------------------------------------

    async def run(self):
        deadline = self.p["deadline"]
        try:
            return await asyncio.wait_for(self.run_inner(), deadline)
        except asyncio.TimeoutError:
            print(f"chaos: the run did not finish within {deadline} s")
            print("chaos: 0 passed, 1 failed")
            return False

    async def run_inner(self):
        connector = aiohttp.TCPConnector(limit=64, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            self.server.start()
            if not await self.server.wait_ready(http, 120):
                print(f"chaos: the server did not become ready; see {self.server_log}")
                print("chaos: 0 passed, 1 failed")
                return False
            log(f"bedside pid {self.server.pid} at {self.server.url}; seed {self.seed}; work {self.work}")
            await self.mcp_ready(http, 30)
            run_id = f"{int(time.time()) % 100000:05d}{self.rng.randrange(1000):03d}"
            self.clients = [Client(self, i, f"chaos-{run_id}-{i:03d}", random.Random(self.rng.random()))
                            for i in range(self.p["sessions"])]
            loops = []
            for client in self.clients:
                loops.append(asyncio.create_task(self.client_loop(client)))
                await asyncio.sleep(0.02)
            log(f"phase A: {self.p['phase_a']} s, {self.p['kills']} server kills")
            await self.phase_a(http)
            log("phase B: warm-up on the last server process, then the level")
            await self.phase_b(http)
            log(f"phase C: {self.p['phase_c']} s")
            await self.phase_c(http)
            log("finishing: every client ends its turn, catches up and disconnects")
            await self.finish(http, loops)
            await self.verify(http)
            return self.report()


# A SQLite pool (event store, FHIR store, auth) holds at most 1 writer + 4 readers, each with
# its database and WAL file open; readers are opened on demand and kept.
POOL_BOUND = 5


# Foundation starts one more run loop (an epoll, an eventfd and a timerfd: 3 anon_inode
# descriptors) on a worker thread the first time it needs one around a child process's exit,
# at the first or a later MCP server restart, and keeps it; more than that is a leak.
RUN_LOOP_DESCRIPTORS = 3


def is_pool_file(kind):
    return kind.endswith((".sqlite", ".sqlite-wal"))


def descriptor_growth(before, after):
    return {kind: after[kind] - before.get(kind, 0) for kind in after if after[kind] > before.get(kind, 0)}


def parse_end(event):
    return parse_time(event["timestamp"])


def main():
    parser = argparse.ArgumentParser(description="Bedside's chaos run (loopback only, bounded).")
    parser.add_argument("--bedside", default=os.path.join(ROOT, ".build", "debug", "bedside"))
    parser.add_argument("--quick", action="store_true", help="the CI size: about two minutes, every fault at least once")
    parser.add_argument("--sessions", type=int, help="override the profile's number of sessions")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--fault-share", type=float, default=0.10, help="share of model requests answered with a fault")
    parser.add_argument("--no-fill", action="store_true", help="skip the filled-disk fault (no tmpfs, no root needed)")
    parser.add_argument("--tmpfs-size", default="256m")
    parser.add_argument("--fill-wait", type=float, default=20, help="seconds to wait for /ready 503 once full")
    parser.add_argument("--fill-hold", type=float, default=5, help="seconds to keep the disk full after that")
    parser.add_argument("--server-arg", action="append", default=[], help="an extra argument for bedside")
    parser.add_argument("--report", help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, databases)")
    parser.add_argument("--work", help="the work directory (default: a new one under the temporary directory)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if not os.access(args.bedside, os.X_OK):
        raise SystemExit(f"chaos: no executable at {args.bedside}: build it first (swift build)")
    chaos = Chaos(args)
    chaos.server = None
    passed = False

    def terminated(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminated)
    try:
        chaos.setup()
        passed = asyncio.run(chaos.run())
    except KeyboardInterrupt:
        print("chaos: interrupted")
    finally:
        chaos.cleanup(passed)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
