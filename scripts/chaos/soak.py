"""Bedside's soak: sessions chat for a long time (30 minutes at 50 sessions by default) with a
think time between turns, so that the machine is not saturated, against .build/debug/bedside
on 127.0.0.1 with the chaos run's fake model (no faults). Every 15 s it samples the server's
RSS and open descriptors; it compares the first and the last window (2 minutes each, after a
1-minute warm-up) for RSS, descriptors and two latencies:

- delivery: an event's `timestamp` (taken by the server when it emitted the event) to its
  receipt by the client, over every live event;
- first event: a `message` sent to the first event of its turn received (the `user` echo).

At the end every client catches up and disconnects, and the transcripts are checked against
the stored histories as in the chaos run. The last line is `soak: N passed, M failed`.
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
from common import (Client, Server, check_transcripts, fetch_history, free_port, log, percentile,  # noqa: E402
                    transcript_checks)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.mode = "run"
        self.samples = []  # (seconds since start, rss kB, fds, connected clients)
        self.checks = []
        self.procs = []

    def setup(self):
        self.work = tempfile.mkdtemp(prefix="bedside-soak-")
        self.model_port, port = free_port(), free_port()
        handle = open(os.path.join(self.work, "fake-model.log"), "a")
        self.procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_model.py"), "--port", str(self.model_port), "--fault-share", "0",
             "--tool-share", "0.3"], stdout=handle, stderr=subprocess.STDOUT, start_new_session=True))
        handle.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_", "OTEL_", "BEDSIDE_"))}
        env.update({"OPENAI_BASE_URL": f"http://127.0.0.1:{self.model_port}/v1", "OPENAI_API_KEY": "soak-key"})
        server_args = [
            "--database", os.path.join(self.work, "events.sqlite"),
            "--fhir-database", os.path.join(self.work, "fhir.sqlite"),
            "--auth-database", os.path.join(self.work, "auth.sqlite"),
            "--seed-patients", "20", "--llm", "openai", "--model", "soak-model", "--log-level", "notice",
            "--max-connections-per-address", "0", "--max-connections-per-session", "0",
            "--max-turns-per-minute", "0", "--max-concurrent-turns", "0", *self.args.server_arg,
        ]
        self.server = Server(self.args.bedside, port, server_args, env, os.path.join(self.work, "bedside.log"))

    def cleanup(self, passed):
        self.server.stop(20)
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        if passed and not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work}")

    async def client_loop(self, client):
        client.start()
        number = 0
        while self.mode == "run" and client.stuck is None:
            number += 1
            if not await client.chat_turn(number, time.monotonic() + 180):
                log(f"client {client.index}: {client.stuck}")
                break
            end = time.monotonic() + self.rng.uniform(*self.args.think)
            while time.monotonic() < end and self.mode == "run":
                await asyncio.sleep(0.25)

    async def sampler(self):
        while self.mode == "run":
            self.samples.append((round(time.monotonic() - self.t0, 1), self.server.rss_kb(), self.server.fds(),
                                 sum(1 for c in self.clients if c.ws is not None)))
            await asyncio.sleep(15)

    def window(self, start, end):
        """Figures of the wall-clock window [start, end) in seconds since the clients started."""
        lo, hi = self.t0_wall + start, self.t0_wall + end
        delivery = [s for c in self.clients for t, s in c.latencies if lo <= t < hi]
        first = [s for c in self.clients for t, s in c.first_event_latencies if lo <= t < hi]
        samples = [s for s in self.samples if start <= s[0] < end]
        rss = [s[1] for s in samples]
        fds = [s[2] for s in samples]
        ms = lambda v: round(1000 * v, 1) if v is not None else None  # noqa: E731
        return {
            "from_s": start, "to_s": end, "events": len(delivery), "turns_started": len(first),
            "delivery_p50_ms": ms(percentile(delivery, 0.5)), "delivery_p99_ms": ms(percentile(delivery, 0.99)),
            "first_event_p50_ms": ms(percentile(first, 0.5)), "first_event_p99_ms": ms(percentile(first, 0.99)),
            "rss_mib": round(sorted(rss)[len(rss) // 2] / 1024, 1) if rss else None,
            "fds": sorted(fds)[len(fds) // 2] if fds else None,
        }

    async def run(self):
        connector = aiohttp.TCPConnector(limit=32, force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            self.server.start()
            if not await self.server.wait_ready(http, 120):
                print("soak: the server did not become ready\nsoak: 0 passed, 1 failed")
                return False
            duration = self.args.minutes * 60
            run_id = f"{int(time.time()) % 100000:05d}"
            self.clients = [Client(self, i, f"soak-{run_id}-{i:03d}", random.Random(self.rng.random()))
                            for i in range(self.args.sessions)]
            self.t0, self.t0_wall = time.monotonic(), time.time()
            log(f"bedside pid {self.server.pid}: {len(self.clients)} sessions for {self.args.minutes} min, "
                f"think {self.args.think[0]}-{self.args.think[1]} s; work {self.work}")
            loops = []
            for client in self.clients:
                loops.append(asyncio.create_task(self.client_loop(client)))
                await asyncio.sleep(0.05)
            sampler = asyncio.create_task(self.sampler())
            while time.monotonic() - self.t0 < duration:
                await asyncio.sleep(min(60, duration - (time.monotonic() - self.t0)))
                last = self.samples[-1] if self.samples else None
                turns = sum(len(c.turns) for c in self.clients)
                if last:
                    log(f"{last[0]:.0f} s: {turns} turns, RSS {last[1] / 1024:.1f} MiB, {last[2]} descriptors, "
                        f"{last[3]} connected")
            self.mode = "stop"
            await asyncio.wait(loops, timeout=200)
            sampler.cancel()
            await asyncio.gather(*[c.catch_up() for c in self.clients])
            histories = {c.index: await fetch_history(http, self.server.url, c.session_id) for c in self.clients}
            found = check_transcripts(self.clients, histories)
            for name, ok, detail in transcript_checks(found, self.clients, histories):
                self.checks.append((name, ok, detail))
            status, _ = await self.server.ready(http)
            self.checks.append(("server up at the end (/ready 200)", status == 200, f"{status}"))
            warm = min(60, duration * 0.1)
            span = min(120, (duration - warm) / 3)
            start = self.window(warm, warm + span)
            end = self.window(duration - span, duration)
            lost = sum(found["lost"].values())
            self.checks.append(("lost events: 0", lost == 0, f"{lost}"))
            if start["rss_mib"] and end["rss_mib"]:
                growth = (end["rss_mib"] - start["rss_mib"]) / start["rss_mib"]
                self.checks.append(("RSS at the end within 10% of the start", abs(growth) <= 0.10,
                                    f"{start['rss_mib']} -> {end['rss_mib']} MiB ({100 * growth:+.1f}%)"))
            if start["fds"] is not None and end["fds"] is not None:
                self.checks.append(("descriptors at the end no more than at the start (+5 for SQLite readers)",
                                    end["fds"] <= start["fds"] + 5, f"{start['fds']} -> {end['fds']}"))
            turns = [t for c in self.clients for t in c.turns]
            completed = sum(1 for t in turns if t.end and t.end.get("status") == "completed")
            result = {"minutes": self.args.minutes, "sessions": len(self.clients), "think_s": self.args.think,
                      "turns": len(turns), "completed": completed,
                      "events_stored": sum(len(h) for h in histories.values()), "start": start, "end": end,
                      "samples": self.samples, "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in self.checks]}
            print()
            print(f"Bedside soak: {self.args.minutes} min, {len(self.clients)} sessions, {len(turns)} turns "
                  f"({completed} completed), {result['events_stored']} events stored")
            print(f"{'window':24} {'RSS MiB':>8} {'fds':>5} {'events':>7} {'deliv p50':>9} {'deliv p99':>9} "
                  f"{'1st p50':>8} {'1st p99':>8}")
            for label, w in (("start", start), ("end", end)):
                print(f"{label + ' ' + str(int(w['from_s'])) + '-' + str(int(w['to_s'])) + ' s':24} {w['rss_mib']!s:>8} "
                      f"{w['fds']!s:>5} {w['events']:>7} {w['delivery_p50_ms']!s:>9} {w['delivery_p99_ms']!s:>9} "
                      f"{w['first_event_p50_ms']!s:>8} {w['first_event_p99_ms']!s:>8}")
            print("(delivery: the event's server timestamp to client receipt; 1st: message sent to its first event)")
            if self.args.report:
                with open(self.args.report, "w") as handle:
                    json.dump(result, handle, indent=1)
            passed = sum(1 for _, ok, _ in self.checks if ok)
            for name, ok, detail in self.checks:
                print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
            print(f"soak: {passed} passed, {len(self.checks) - passed} failed")
            return passed == len(self.checks)


def main():
    parser = argparse.ArgumentParser(description="Bedside's soak (loopback only, bounded).")
    parser.add_argument("--bedside", default=os.path.join(ROOT, ".build", "debug", "bedside"))
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--think", type=float, nargs=2, default=[4.0, 12.0], metavar=("MIN", "MAX"),
                        help="seconds between a turn's end and the next message (uniform)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--report", help="write the figures as JSON here")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not os.access(args.bedside, os.X_OK):
        raise SystemExit(f"soak: no executable at {args.bedside}: build it first (swift build)")
    soak = Soak(args)
    passed = False

    def terminated(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, terminated)
    try:
        soak.setup()
        passed = asyncio.run(asyncio.wait_for(soak.run(), args.minutes * 60 + 600))
    except asyncio.TimeoutError:
        print("soak: did not finish in time\nsoak: 0 passed, 1 failed")
    except KeyboardInterrupt:
        print("soak: interrupted")
    finally:
        soak.cleanup(passed)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
