#!/usr/bin/env python3
"""An external MCP client, written with the official MCP Python SDK, against Bedside's /mcp.

Starts the real `bedside` binary on a free loopback port (offline model, a few synthetic
patients, a scratch database), then lists and calls its tools over Streamable HTTP, reads
the access audit of the MCP session, and checks that a foreign Origin is refused.

    python3 Tests/mcp/mcp_client_test.py [path/to/bedside]

Ends with `mcp: N passed, N failed` and exits non-zero when a check failed.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

EXPECTED_TOOLS = {"find_patients", "patient_summary", "search_clinical", "observation_trend", "read_resource"}

results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition or not detail else f": {detail}"), flush=True)


def start_bedside(binary, workdir):
    env = dict(os.environ, BEDSIDE_LLM="offline", BEDSIDE_LOG_LEVEL="warning")
    process = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", "0", "--database", os.path.join(workdir, "bedside.sqlite"),
         "--seed-patients", "3"],
        cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    for line in process.stdout:
        match = re.search(r"running at (http://127\.0\.0\.1:\d+)/", line)
        if match:
            return process, match.group(1)
    raise RuntimeError("bedside did not start: " + (process.stdout.read() if process.stdout else ""))


def attr(value, snake, camel):
    """A field under its 2.x (snake_case) or 1.x (camelCase) name."""
    return getattr(value, snake) if hasattr(value, snake) else getattr(value, camel, None)


def text_of(result):
    return "\n".join(getattr(part, "text", "") for part in result.content)


async def exercise(base):
    async with streamable_http_client(base + "/mcp") as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            info = attr(initialized, "server_info", "serverInfo")
            check("initialize names the server bedside", info is not None and info.name == "bedside", info)

            listed = await session.list_tools()
            names = {tool.name for tool in listed.tools}
            check("tools/list offers the five FHIR tools", names == EXPECTED_TOOLS, sorted(names))
            check("every tool is annotated read-only",
                  all(tool.annotations is not None and attr(tool.annotations, "read_only_hint", "readOnlyHint")
                      for tool in listed.tools))
            check("every tool has an object input schema",
                  all(attr(tool, "input_schema", "inputSchema").get("type") == "object" for tool in listed.tools))

            body, found = {}, None
            for gender in ("female", "male", "other", "unknown"):
                found = await session.call_tool("find_patients", {"gender": gender})
                try:
                    body = json.loads(text_of(found))
                except ValueError:
                    body = {}
                if body.get("count", 0) >= 1:
                    break
            check("find_patients answers with patients", not attr(found, "is_error", "isError") and body.get("count", 0) >= 1,
                  text_of(found)[:200])
            patient_id = body["patients"][0]["id"] if body.get("patients") else None

            summary = await session.call_tool("patient_summary", {"patient_id": patient_id})
            check("patient_summary reads the patient", not attr(summary, "is_error", "isError") and patient_id in text_of(summary),
                  text_of(summary)[:200])

            bad = await session.call_tool("patient_summary", {})
            check("a call without its required argument is a tool error", attr(bad, "is_error", "isError"), text_of(bad)[:200])

            unknown = await session.call_tool("drop_tables", {})
            check("an unknown tool is a tool error", attr(unknown, "is_error", "isError"), text_of(unknown)[:200])
            return patient_id




def raw_post(base, body, headers):
    request = urllib.request.Request(base + "/mcp", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read(4096).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode(errors="replace")


def raw_checks(base):
    initialize = json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
    }).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    status, _, body = raw_post(base, initialize, dict(headers, Origin="https://evil.example"))
    check("a foreign Origin is refused with 403 origin_not_allowed", status == 403 and "origin_not_allowed" in body, (status, body))
    status, answer_headers, _ = raw_post(base, initialize, headers)
    session = {k.lower(): v for k, v in answer_headers.items()}.get("mcp-session-id")
    check("a raw initialize opens a session", status == 200 and session, (status, answer_headers))
    if not session:
        return
    call = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "find_patients", "arguments": {"gender": "female"}}}).encode()
    raw_post(base, json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
             dict(headers, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}))
    status, _, _ = raw_post(base, call, dict(headers, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}))
    check("a raw tools/call in the session succeeds", status == 200, status)
    with urllib.request.urlopen(f"{base}/sessions/mcp-{session}/audit", timeout=10) as response:
        audit = json.loads(response.read())
    tools = [record["tool"] for record in audit.get("records", [])]
    check("the call is in the access audit of mcp-<session id>", "find_patients" in tools, audit)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", ".build", "debug", "bedside")
    with tempfile.TemporaryDirectory(prefix="bedside-mcp-") as workdir:
        process, base = start_bedside(os.path.abspath(binary), workdir)
        try:
            asyncio.run(asyncio.wait_for(exercise(base), timeout=60))
            raw_checks(base)
        except Exception as error:  # a crash of the client is a failed check, not a traceback
            check("the MCP client ran to the end", False, repr(error))
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"mcp: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()
