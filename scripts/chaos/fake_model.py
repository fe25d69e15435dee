"""An OpenAI-compatible fake model for Bedside's chaos run and soak.

It answers POST /v1/chat/completions in the streaming Chat Completions format (server-sent
events, `data: {...}` chunks, `data: [DONE]`), and GET /faults with the faults it injected.

What it answers is steered by a tag the driver puts in each user message,
`[chaos s=<client> n=<turn> tool=<directive>]`:

- the first request of a turn (no tool result after the last user message) calls a tool when
  the tag asks for one (`tool=find` a built-in FHIR tool, `tool=slow:<seconds>` the chaos MCP
  server's slow tool), else with probability --tool-share a built-in tool;
- every other request streams a short text reply (--tokens deltas, --token-ms apart).

With probability --fault-share a request is answered with a fault instead: 429, 500, a stall
(one delta, then nothing for --stall-seconds, longer than Bedside's 30 s stall limit) or a
garbled chunk (a `data:` line that is not JSON). The first four faults are one of each kind
(the stall first, so that a short run has time to see it end), then kinds are drawn at random. Requests whose tag asks for the slow MCP tool
are never faulted: the driver needs that call to reach the MCP server.

Every response carries `Connection: close`, so Bedside keeps no idle pooled connection to
the model and its open descriptors can be compared before and after.
"""

import argparse
import asyncio
import json
import random
import re
import time

from aiohttp import web

KINDS = ["stall", "garbled", "429", "500"]  # the first faults come in this order
TAG = re.compile(r"\[chaos s=(\d+) n=(\d+)(?: tool=([a-z]+(?::[0-9.]+)?))?\]")
WORDS = ["The ", "patient ", "has ", "two ", "active ", "conditions ", "and ", "stable ", "vitals. "]


class Model:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.faults = []  # {"kind", "client", "turn", "time"}
        self.requests = 0
        self.by_kind = {k: 0 for k in KINDS}
        self.active = 0

    def choose_fault(self):
        if self.rng.random() >= self.args.fault_share:
            return None
        allowed = [k for k in KINDS if k not in self.args.skip_kinds and
                   not (k == "stall" and self.args.max_stalls and self.by_kind[k] >= self.args.max_stalls)]
        unused = [k for k in allowed if self.by_kind[k] == 0]
        if unused:
            return unused[0]
        return self.rng.choice(allowed) if allowed else None

    async def faults_handler(self, request):
        return web.json_response({"requests": self.requests, "faults": self.faults, "active": self.active})

    async def handle(self, request):
        self.requests += 1
        self.active += 1
        try:
            return await self.answer(request)
        finally:
            self.active -= 1

    async def answer(self, request):
        body = await request.json()
        messages = body.get("messages", [])
        last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last_user.get("content") or ""
        if isinstance(content, list):
            content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
        match = TAG.search(content)
        client, turn, directive = (int(match.group(1)), int(match.group(2)), match.group(3)) if match else (-1, -1, None)
        after_user = messages[messages.index(last_user) + 1:] if last_user in messages else []
        tool_round_done = any(m.get("role") == "tool" for m in after_user)
        tools = [t.get("function", {}).get("name") for t in body.get("tools", [])]

        slow = directive is not None and directive.startswith("slow")
        fault = None if slow else self.choose_fault()
        if fault:
            self.by_kind[fault] += 1
            self.faults.append({"kind": fault, "client": client, "turn": turn, "time": time.time()})
            if fault == "429":
                return web.json_response({"error": {"message": "Rate limit reached (chaos)", "type": "rate_limit"}},
                                         status=429, headers={"Connection": "close"})
            if fault == "500":
                return web.json_response({"error": {"message": "Internal failure (chaos)", "type": "server"}},
                                         status=500, headers={"Connection": "close"})

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        response.force_close()
        await response.prepare(request)

        async def send(payload):
            await response.write(b"data: " + payload.encode() + b"\n\n")

        try:
            if fault == "stall":
                await send(text_chunk("Thinking "))
                await asyncio.sleep(self.args.stall_seconds)
                return response
            if fault == "garbled":
                await send(text_chunk("Partial "))
                await send('{"choices":[{"index":0,"delta":{"content":"garb')
                return response
            if not tool_round_done:
                call = None
                if slow and any(name and name.endswith("__slow_read") for name in tools):
                    seconds = float(directive.split(":", 1)[1]) if ":" in directive else 20.0
                    name = next(n for n in tools if n and n.endswith("__slow_read"))
                    call = (name, json.dumps({"seconds": seconds}))
                elif directive == "find" or (directive is None and self.rng.random() < self.args.tool_share):
                    if "find_patients" in tools:
                        call = ("find_patients", json.dumps({"name": "Smith", "count": 3}))
                if call:
                    await send(tool_chunk(f"call_{client}_{turn}_{self.requests}", call[0], call[1]))
                    await send(finish_chunk("tool_calls"))
                    await send(usage_chunk(120, 12))
                    await response.write(b"data: [DONE]\n\n")
                    return response
            start = time.monotonic()
            for i in range(self.args.tokens):
                deadline = start + (i + 1) * self.args.token_ms / 1000
                delay = deadline - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await send(text_chunk(WORDS[i % len(WORDS)]))
            await send(finish_chunk("stop"))
            await send(usage_chunk(300, self.args.tokens))
            await response.write(b"data: [DONE]\n\n")
        except (ConnectionResetError, ConnectionError, asyncio.CancelledError):
            pass
        return response


def text_chunk(text):
    return json.dumps({"id": "c", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})


def finish_chunk(reason):
    return json.dumps({"id": "c", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})


def usage_chunk(prompt, completion):
    return json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [],
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion}})


def tool_chunk(call_id, name, arguments):
    return json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {
        "tool_calls": [{"index": 0, "id": call_id, "type": "function",
                        "function": {"name": name, "arguments": arguments}}]}, "finish_reason": None}]})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault-share", type=float, default=0.10)
    parser.add_argument("--skip-kinds", default="", help="comma-separated fault kinds never injected")
    parser.add_argument("--tool-share", type=float, default=0.3)
    parser.add_argument("--tokens", type=int, default=12)
    parser.add_argument("--token-ms", type=float, default=15)
    parser.add_argument("--stall-seconds", type=float, default=40)
    parser.add_argument("--max-stalls", type=int, default=0, help="most stalls in all; 0 is no limit")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    args.skip_kinds = [k for k in args.skip_kinds.split(",") if k]
    model = Model(args)
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", model.handle)
    app.router.add_get("/faults", model.faults_handler)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None, shutdown_timeout=1)


if __name__ == "__main__":
    main()
