"""A small MCP server on stdio (newline-delimited JSON-RPC 2.0) for Bedside's chaos run.

It offers one read-only tool, `slow_read`, which answers "slept <seconds>" after waiting
`seconds` (default 20). Calls run concurrently. So that the driver can kill it in the middle
of a call, it writes its process id to <state>/pid when it starts and appends a line
`start <request id> <unix time>` to <state>/calls when a call begins (and `end …` when one
answers). It exits when its standard input closes (Bedside stopped or was killed).
"""

import json
import os
import sys
import threading
import time

state = sys.argv[1] if len(sys.argv) > 1 else None
lock = threading.Lock()
timers = {}


def note(line):
    if state:
        with open(os.path.join(state, "calls"), "a") as handle:
            handle.write(f"{line} {time.time():.3f}\n")


def send(message):
    data = json.dumps(message) + "\n"
    with lock:
        sys.stdout.write(data)
        sys.stdout.flush()


TOOL = {
    "name": "slow_read",
    "description": "Waits a while, then answers.",
    "inputSchema": {"type": "object", "properties": {"seconds": {"type": "number"}}},
    "annotations": {"readOnlyHint": True},
}


def finish_call(request_id, seconds):
    with lock:
        if timers.pop(json.dumps(request_id), None) is None:
            return
    note(f"end {request_id}")
    send({"jsonrpc": "2.0", "id": request_id,
          "result": {"content": [{"type": "text", "text": f"slept {seconds}"}], "isError": False}})


def handle(message):
    method = message.get("method")
    request_id = message.get("id")
    params = message.get("params") or {}
    if method == "initialize":
        version = params.get("protocolVersion") or "2025-06-18"
        send({"jsonrpc": "2.0", "id": request_id, "result": {
            "protocolVersion": version, "capabilities": {"tools": {"listChanged": False}},
            "serverInfo": {"name": "bedside-chaos-mcp", "version": "1.0"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": request_id, "result": {"tools": [TOOL]}})
    elif method == "tools/call":
        arguments = params.get("arguments") or {}
        try:
            seconds = float(arguments.get("seconds", 20))
        except (TypeError, ValueError):
            seconds = 20.0
        note(f"start {request_id}")
        timer = threading.Timer(seconds, finish_call, (request_id, seconds))
        with lock:
            timers[json.dumps(request_id)] = timer
        timer.daemon = True
        timer.start()
    elif method == "notifications/cancelled":
        cancelled = params.get("requestId")
        with lock:
            timer = timers.pop(json.dumps(cancelled), None)
        if timer:
            timer.cancel()
            note(f"cancelled {cancelled}")
    elif method == "ping":
        send({"jsonrpc": "2.0", "id": request_id, "result": {}})
    elif request_id is not None:
        send({"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": f"unknown method {method}"}})


def main():
    if state:
        os.makedirs(state, exist_ok=True)
        with open(os.path.join(state, "pid"), "w") as pid_file:
            pid_file.write(str(os.getpid()))
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            handle(message)
    os._exit(0)


if __name__ == "__main__":
    main()
