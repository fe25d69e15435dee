#!/usr/bin/env python3
"""Bedside's /mcp as an OAuth protected resource, from an external client written with the
official MCP Python SDK.

Starts the real `bedside` binary on a free loopback port with `--auth keys` (and `oidc`, with
the real glewlwyd provider of scripts/oidc-provider.sh, when glewlwyd is installed), makes API
keys with `bedside keys create`, then checks that:
- without a credential the SDK cannot connect, and a raw POST /mcp answers 401 with
  `WWW-Authenticate: Bearer resource_metadata="<public url>/.well-known/oauth-protected-resource"`,
  a document that names the resource and the issuer;
- with `Authorization: Bearer <API key>` the SDK lists and calls the tools, and the reads are in
  `/sessions/mcp-<session id>/audit` for that key's principal only (another key sees an empty
  audit for the same id, and cannot use the MCP session), a key without the clinician role is
  refused, and a revoked key stops working;
- an auditor's key finds those reads in `GET /audit?patient=` and under
  `/principals/<key>/sessions/mcp-<id>/audit`, with the principal listed and named, and also
  finds `GET /patient/<id>` reads and imports there;
- with glewlwyd, a JWT from the client_credentials grant for the resource `<public url>/mcp`
  works the same way, and one for another audience is refused.

    python3 Tests/mcp/mcp_auth_test.py [path/to/bedside]

Ends with `mcp: N passed, N failed` (`, N skipped` after it when a check is held back by a
known server bug, named on its SKIP line) and exits non-zero when a check failed.
"""

import asyncio
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROVIDER = os.path.join(ROOT, "scripts", "oidc-provider.sh")
SECRET = os.environ.get("BEDSIDE_OIDC_CLIENT_SECRET", "bedside-secret")
EXPECTED_TOOLS = {"find_patients", "patient_summary", "search_clinical", "observation_trend", "read_resource"}

results = []
skipped = []


def check(name, condition, detail="", known_bug=None):
    """One check. `known_bug` names a server bug that makes it fail for now: then a failure is
    a skip with that reason (and a pass means the bug is gone: drop the marker)."""
    if not condition and known_bug:
        skipped.append(name)
        print(f"SKIP {name}: known server bug: {known_bug}" + (f" ({detail})" if detail else ""), flush=True)
        return False
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition or not detail else f": {detail}"), flush=True)
    return bool(condition)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def attr(value, snake, camel):
    """A field under its 2.x (snake_case) or 1.x (camelCase) name."""
    return getattr(value, snake) if hasattr(value, snake) else getattr(value, camel, None)


def text_of(result):
    return "\n".join(getattr(part, "text", "") for part in result.content)


def http(method, url, body=None, headers=None):
    """(status, headers with lower-case names, text) of one request; redirects are not followed."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            status, answer, text = response.status, response.headers, response.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as error:
        status, answer, text = error.code, error.headers, error.read().decode(errors="replace")
    return status, {k.lower(): v for k, v in answer.items()}, text


def get_json(url, bearer=None):
    status, _, text = http("GET", url, headers={"Authorization": f"Bearer {bearer}"} if bearer else {})
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Bedside:
    """The bedside binary with identity on, on a port chosen beforehand (the public URL names it)."""

    def __init__(self, binary, workdir, issuer=None):
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_database = os.path.join(workdir, "bedside-auth.sqlite")
        self.issuer = issuer
        self.process = None

    def keys(self, *arguments):
        done = subprocess.run([self.binary, "keys", *arguments, "--auth-database", self.auth_database],
                              cwd=self.workdir, capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"bedside keys {' '.join(arguments)} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def start(self):
        modes = "keys,oidc" if self.issuer else "keys"
        arguments = [self.binary, "--host", "127.0.0.1", "--port", str(self.port),
                     "--database", os.path.join(self.workdir, "bedside.sqlite"),
                     "--fhir-database", os.path.join(self.workdir, "fhir.sqlite"),
                     "--auth-database", self.auth_database, "--seed-patients", "3",
                     "--auth", modes, "--public-url", self.url, "--log-level", "warning"]
        if self.issuer:
            arguments += ["--oidc-issuer", self.issuer, "--oidc-client-id", "bedside"]
        env = dict(os.environ, BEDSIDE_LLM="offline", BEDSIDE_OIDC_CLIENT_SECRET=SECRET)
        self.log = open(os.path.join(self.workdir, "bedside.log"), "ab")
        self.process = subprocess.Popen(arguments, cwd=self.workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if get_json(self.url + "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        with open(os.path.join(self.workdir, "bedside.log"), errors="replace") as log:
            raise RuntimeError("bedside did not become ready: " + log.read()[-2000:])

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process:
            self.log.close()


async def use_tools(url, bearer):
    """Opens an MCP session with the bearer credential, lists the tools and reads a patient:
    (MCP session id, patient id, tool names)."""
    seen = {}

    async def note_session(response):
        session = response.headers.get("mcp-session-id")
        if session:
            seen["session"] = session

    async with create_mcp_http_client(headers={"Authorization": f"Bearer {bearer}"}) as client:
        client.event_hooks["response"].append(note_session)
        async with streamable_http_client(url, http_client=client) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                listed = await session.list_tools()
                found = await session.call_tool("find_patients", {"gender": "female"})
                body = json.loads(text_of(found)) if not attr(found, "is_error", "isError") else {}
                if not body.get("patients"):
                    found = await session.call_tool("find_patients", {"gender": "male"})
                    body = json.loads(text_of(found)) if not attr(found, "is_error", "isError") else {}
                patient = body["patients"][0]["id"] if body.get("patients") else None
                summary = await session.call_tool("patient_summary", {"patient_id": patient})
                if attr(summary, "is_error", "isError"):
                    raise RuntimeError(f"patient_summary failed: {text_of(summary)[:200]}")
                return seen.get("session"), patient, {tool.name for tool in listed.tools}


async def connect_without(url, headers):
    """The exception the SDK raises when it cannot initialize (None if it could)."""
    async with create_mcp_http_client(headers=headers) as client:
        try:
            async with streamable_http_client(url, http_client=client) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await asyncio.wait_for(session.initialize(), timeout=15)
        except BaseException as error:  # the SDK raises an exception group from its task group
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return error
    return None


def describe(error):
    parts = [repr(error)]
    for inner in getattr(error, "exceptions", ()) or ():
        parts.append(describe(inner))
    return " / ".join(parts)[:400]


def initialize_body():
    return json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
    }).encode()


MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def check_refusals(bedside):
    mcp = bedside.url + "/mcp"
    error = asyncio.run(connect_without(mcp, {}))
    check("without a credential the SDK cannot initialize", error is not None, "it connected")
    if error is not None:
        print(f"     the SDK raised {describe(error)}")

    status, headers, body = http("POST", mcp, initialize_body(), MCP_HEADERS)
    metadata_url = f"{bedside.url}/.well-known/oauth-protected-resource"
    check("a raw POST /mcp without a credential answers 401 unauthenticated",
          status == 401 and '"unauthenticated"' in body, (status, body))
    check("its WWW-Authenticate points at the protected resource metadata",
          headers.get("www-authenticate") == f'Bearer resource_metadata="{metadata_url}"', headers.get("www-authenticate"))
    status, _, body = http("POST", mcp, initialize_body(), dict(MCP_HEADERS, Authorization="Bearer bsk_" + "A" * 43))
    check("an unknown API key answers 401", status == 401, (status, body))
    status, _, body = http("POST", mcp, initialize_body(), dict(MCP_HEADERS, Authorization="Bearer not-a-token"))
    check("a malformed bearer token answers 401", status == 401, (status, body))

    for url in (metadata_url, metadata_url + "/mcp"):
        status, document = get_json(url)
        expected = {"resource": mcp, "bearer_methods_supported": ["header"], "resource_name": "Bedside"}
        ok = status == 200 and isinstance(document, dict) and all(document.get(k) == v for k, v in expected.items())
        if bedside.issuer:
            ok = ok and document.get("authorization_servers") == [bedside.issuer]
        named = f" and the issuer {bedside.issuer}" if bedside.issuer else ""
        check(f"{url[len(bedside.url):]} names the resource {mcp}{named}", ok, (status, document))


def key_of(bedside, bearer):
    status, me = get_json(bedside.url + "/auth/me", bearer=bearer)
    return me["principal"]["key"] if status == 200 and isinstance(me, dict) else None


def check_audit_across_principals(bedside, one, auditor, importer, session, patient):
    """What an auditor sees of an MCP client: its reads of the patient, its principal, its
    MCP session; and that the other reads of patient data (GET /patient, imports) are there too."""
    principal = key_of(bedside, one)
    status, answer = get_json(f"{bedside.url}/audit?patient={patient}", bearer=auditor)
    records = answer.get("records", []) if isinstance(answer, dict) else []
    mine = [r for r in records if r["principal"]["key"] == principal]
    check("an auditor's GET /audit?patient= lists the MCP client's reads under its principal and mcp-<id>",
          status == 200 and mine and all(r["session_id"] == f"mcp-{session}" and r["owner"] == principal for r in mine)
          and {"patient_summary"} <= {r["tool"] for r in mine}, (status, answer))
    named = mine[0]["principal"] if mine else {}
    check("those records name the principal (issuer bedside:keys, the key's id and name)",
          named.get("issuer") == "bedside:keys" and named.get("name") == "mcp-one" and named.get("subject"), named)
    status, own = get_json(f"{bedside.url}/sessions/mcp-{session}/audit", bearer=one)
    status2, seen = get_json(f"{bedside.url}/principals/{principal}/sessions/mcp-{session}/audit", bearer=auditor)
    check("an auditor reads the MCP session's audit under /principals/<key>/sessions/mcp-<id>/audit",
          status == status2 == 200 and seen.get("records") == own.get("records") and own.get("records"), (status2, seen))
    status, listed = get_json(f"{bedside.url}/principals", bearer=auditor)
    keys = [p["key"] for p in listed.get("principals", [])] if isinstance(listed, dict) else []
    check("GET /principals lists the API key's principal that used /mcp", status == 200 and principal in keys,
          (status, listed))
    status, _ = get_json(f"{bedside.url}/principals", bearer=one)
    check("a clinician key may not list the principals (403)", status == 403, status)

    before = len(mine)
    status, _, _ = http("GET", f"{bedside.url}/patient/{patient}", headers={"Authorization": f"Bearer {one}"})
    _, answer = get_json(f"{bedside.url}/audit?patient={patient}", bearer=auditor)
    after = [r for r in answer.get("records", []) if r["principal"]["key"] == principal] if isinstance(answer, dict) else []
    check("a GET /patient/<id> read shows in /audit?patient=", status == 200 and len(after) > before, (status, answer))
    imported = {"resourceType": "Patient", "id": "mcp-auth-imported", "name": [{"family": "Imported", "given": ["Ida"]}]}
    status, _, body = http("POST", f"{bedside.url}/patient", json.dumps(imported).encode(),
                           {"Authorization": f"Bearer {importer}", "Content-Type": "application/json"})
    check("an importer key imports a patient (201)", status == 201, (status, body[:200]))
    _, answer = get_json(f"{bedside.url}/audit?patient=mcp-auth-imported", bearer=auditor)
    check("the import shows in /audit?patient= under the importer's principal",
          isinstance(answer, dict) and [r for r in answer.get("records", []) if r["principal"]["name"] == "mcp-importer"],
          answer)


def check_keys(bedside, one, two, importer, auditor):
    mcp = bedside.url + "/mcp"
    try:
        session, patient, tools = asyncio.run(asyncio.wait_for(use_tools(mcp, one), timeout=60))
    except Exception as error:
        check("with an API key the SDK lists and calls the tools", False, describe(error))
        return
    check("with an API key the SDK lists the five tools", tools == EXPECTED_TOOLS, sorted(tools))
    check("and calls them (find_patients, patient_summary)", session and patient, (session, patient))
    if not session:
        return

    status, audit = get_json(f"{bedside.url}/sessions/mcp-{session}/audit", bearer=one)
    records = audit.get("records", []) if isinstance(audit, dict) else []
    check("the calls are in /sessions/mcp-<id>/audit for the key's principal",
          status == 200 and {"find_patients", "patient_summary"} <= {r["tool"] for r in records}
          and any(patient in r["patient_ids"] for r in records), (status, audit))
    status, other = get_json(f"{bedside.url}/sessions/mcp-{session}/audit", bearer=two)
    check("another key gets an empty audit for the same session id",
          status == 200 and isinstance(other, dict) and other.get("records") == [], (status, other))
    status, other = get_json(f"{bedside.url}/sessions/mcp-{session}/audit")
    check("no credential gets 401 for that audit", status == 401, (status, other))

    call = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                       "params": {"name": "find_patients", "arguments": {"gender": "female"}}}).encode()
    headers = dict(MCP_HEADERS, **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
    status, _, body = http("POST", mcp, call, dict(headers, Authorization=f"Bearer {two}"))
    check("another key cannot use the MCP session (404)", status == 404, (status, body[:200]))
    status, after = get_json(f"{bedside.url}/sessions/mcp-{session}/audit", bearer=one)
    check("and its attempt reads nothing in it",
          status == 200 and len(after.get("records", [])) == len(records), (len(records), after))

    check_audit_across_principals(bedside, one, auditor, importer, session, patient)

    status, _, body = http("POST", mcp, initialize_body(), dict(MCP_HEADERS, Authorization=f"Bearer {importer}"))
    check("a key with only the importer role is refused with 403 forbidden",
          status == 403 and '"forbidden"' in body, (status, body))

    bedside.keys("revoke", "mcp-two")
    status, _, body = http("POST", mcp, initialize_body(), dict(MCP_HEADERS, Authorization=f"Bearer {two}"))
    check("a revoked key answers 401", status == 401, (status, body))


def claims_of(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def client_credentials(token_endpoint, resource=None):
    form = {"grant_type": "client_credentials", "scope": "openid"}
    if resource:
        form["resource"] = resource
    pair = base64.b64encode(f"bedside:{SECRET}".encode()).decode()
    status, _, text = http("POST", token_endpoint, urllib.parse.urlencode(form).encode(),
                           {"Authorization": f"Basic {pair}", "Content-Type": "application/x-www-form-urlencoded"})
    body = json.loads(text) if text.startswith("{") else {}
    return status, body.get("access_token"), text


def check_jwt(bedside):
    mcp = bedside.url + "/mcp"
    status, discovery = get_json(bedside.issuer + "/.well-known/openid-configuration")
    if not check("the provider's discovery document is there", status == 200 and isinstance(discovery, dict), status):
        return
    status, token, text = client_credentials(discovery["token_endpoint"], resource=mcp)
    if not check("client_credentials with resource=<public url>/mcp gives an access token", status == 200 and token,
                 (status, text[:300])):
        return
    claims = claims_of(token)
    check("its aud is <public url>/mcp and its iss the issuer", claims.get("aud") == mcp and claims.get("iss") == bedside.issuer,
          claims)
    status, me = get_json(bedside.url + "/auth/me", bearer=token)
    accepted = check("Bedside accepts the token (GET /auth/me with it: method bearer)",
                     status == 200 and isinstance(me, dict) and me.get("method") == "bearer", (status, me))
    if accepted:
        try:
            session, patient, tools = asyncio.run(asyncio.wait_for(use_tools(mcp, token), timeout=60))
            check("with the JWT the SDK lists and calls the tools", tools == EXPECTED_TOOLS and session and patient,
                  (sorted(tools), session, patient))
            status, audit = get_json(f"{bedside.url}/sessions/mcp-{session}/audit", bearer=token)
            check("and the reads are in its principal's audit of mcp-<id>",
                  status == 200 and any(patient in r["patient_ids"] for r in audit.get("records", [])), (status, audit))
        except Exception as error:
            check("with the JWT the SDK lists and calls the tools", False, describe(error))
    status, other, text = client_credentials(discovery["token_endpoint"])
    if check("client_credentials without a resource gives a token for another audience", status == 200 and other,
             (status, text[:300])):
        status, _, body = http("POST", mcp, initialize_body(), dict(MCP_HEADERS, Authorization=f"Bearer {other}"))
        check(f"a token whose aud is {claims_of(other).get('aud')!r} is refused with 401", status == 401, (status, body))


def run(binary, workdir):
    provider_dir = os.path.join(workdir, "provider")
    provider = shutil.which("glewlwyd") is not None
    bedside = Bedside(binary, workdir)
    try:
        if provider:
            env = dict(os.environ, BEDSIDE_REDIRECT_URI=bedside.url + "/auth/callback", BEDSIDE_OIDC_CLIENT_SECRET=SECRET)
            done = subprocess.run(["bash", PROVIDER, "start", provider_dir], env=env, capture_output=True, text=True,
                                  timeout=60)
            if not check("the OpenID provider starts", done.returncode == 0, done.stderr.strip()[-1000:]):
                return
            bedside.issuer = done.stdout.strip().splitlines()[-1]
        else:
            print("     glewlwyd is not installed: the JWT checks are left out (API keys only)")
        one = bedside.keys("create", "--name", "mcp-one", "--role", "clinician")
        two = bedside.keys("create", "--name", "mcp-two", "--role", "clinician")
        importer = bedside.keys("create", "--name", "mcp-importer", "--role", "importer")
        auditor = bedside.keys("create", "--name", "mcp-auditor", "--role", "auditor")
        check("bedside keys create prints keys", all(k.startswith("bsk_") for k in (one, two, importer, auditor)))
        bedside.start()
        check_refusals(bedside)
        check_keys(bedside, one, two, importer, auditor)
        if bedside.issuer:
            check_jwt(bedside)
    finally:
        bedside.stop()
        if provider:
            subprocess.run(["bash", PROVIDER, "stop", provider_dir], capture_output=True, timeout=30)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "bedside"))
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="bedside-mcp-auth-")
    try:
        run(binary, workdir)
    except Exception as error:  # a crash of the client is a failed check, not a traceback
        check("the test ran to the end", False, describe(error))
    passed = sum(1 for _, ok in results if ok)
    if passed != len(results):
        print(f"     the logs are kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"mcp auth test took {time.monotonic() - started:.1f} s")
    print(f"mcp: {passed} passed, {len(results) - passed} failed" + (f", {len(skipped)} skipped" if skipped else ""))
    sys.exit(1 if passed != len(results) or not results else 0)


if __name__ == "__main__":
    main()
