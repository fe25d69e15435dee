import { test } from "node:test";
import assert from "node:assert/strict";
import { Api, ApiError, retryAfterHeader } from "../public/lib/api.js";

/** A fetch double that records each request and answers from a table of routes. */
function fakeServer(routes) {
  const requests = [];
  const fetch = async (path, init) => {
    requests.push({ path, method: init.method, headers: init.headers, body: init.body === undefined ? undefined : JSON.parse(init.body), credentials: init.credentials });
    const answer = routes[`${init.method} ${path}`];
    if (answer === undefined) return new Response(JSON.stringify({ error: "no route", code: "not_found" }), { status: 404 });
    if (answer instanceof Error) throw answer;
    const [status, body, type = "application/json", headers = {}] = answer;
    return new Response(body === null ? null : typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": type, ...headers } });
  };
  return { api: new Api({ fetch }), requests };
}

const summary = { id: "demo-session-1", title: "Labs", created: "2026-11-25T09:00:00Z", last_activity: "2026-11-25T09:05:00Z", turn_count: 1, last_turn_status: "completed" };

test("/auth/me tells signed in, signed out and cannot say apart", async () => {
  const me = { principal: { key: "k1", issuer: "https://id.example", subject: "u", name: "Ada", roles: ["clinician"] }, method: "cookie", expires_at: null };
  assert.deepEqual(await fakeServer({ "GET /auth/me": [200, me] }).api.me(), { state: "signed_in", body: me });
  assert.deepEqual(await fakeServer({ "GET /auth/me": [401, { error: "Sign in first.", code: "unauthenticated" }] }).api.me(), { state: "signed_out" });
  const down = await fakeServer({ "GET /auth/me": new TypeError("Failed to fetch") }).api.me();
  assert.equal(down.state, "unknown");
  assert.equal(down.error.status, 0);
  assert.equal(down.error.code, "unreachable");
  const broken = await fakeServer({ "GET /auth/me": [503, "<html>down</html>", "text/html"] }).api.me();
  assert.equal(broken.state, "unknown");
  assert.equal(broken.error.code, "http_503");
});

test("sign-out posts and hands back the provider's logout URL", async () => {
  const { api, requests } = fakeServer({ "POST /auth/logout": [200, { logout_url: "https://id.example/logout" }] });
  assert.deepEqual(await api.logout(), { logoutURL: "https://id.example/logout" });
  assert.equal(requests[0].method, "POST");
  assert.equal(requests[0].credentials, "same-origin");
  assert.deepEqual(await fakeServer({ "POST /auth/logout": [200, { logout_url: null }] }).api.logout(), { logoutURL: null });
});

test("the conversations: list, rename, delete, audit", async () => {
  const { api, requests } = fakeServer({
    "GET /sessions?limit=50": [200, { sessions: [summary], next: "cur-1" }],
    "GET /sessions?limit=50&before=cur-1": [200, { sessions: [], next: null }],
    "PATCH /sessions/demo-session-1": [200, { ...summary, title: "Renamed" }],
    "DELETE /sessions/demo-session-1": [204, null],
    "DELETE /sessions/gone-session": [404, { error: "No such session.", code: "not_found" }],
    "GET /sessions/demo-session-1/audit": [200, { session_id: "demo-session-1", records: [] }],
  });
  assert.deepEqual(await api.listSessions(), { sessions: [summary], next: "cur-1" });
  assert.deepEqual(await api.listSessions({ before: "cur-1" }), { sessions: [], next: null });
  assert.equal((await api.renameSession("demo-session-1", "Renamed")).title, "Renamed");
  assert.deepEqual(requests[2].body, { title: "Renamed" });
  assert.equal(requests[2].headers["Content-Type"], "application/json");
  assert.equal(await api.deleteSession("demo-session-1"), undefined);
  assert.equal(await api.deleteSession("gone-session"), undefined, "already gone counts as deleted");
  assert.deepEqual(await api.audit("demo-session-1"), { session_id: "demo-session-1", records: [] });
  assert.deepEqual(requests.map((r) => `${r.method} ${r.path}`), [
    "GET /sessions?limit=50",
    "GET /sessions?limit=50&before=cur-1",
    "PATCH /sessions/demo-session-1",
    "DELETE /sessions/demo-session-1",
    "DELETE /sessions/gone-session",
    "GET /sessions/demo-session-1/audit",
  ]);
});

test("failures carry the status and the server's code", async () => {
  const { api } = fakeServer({
    "GET /sessions?limit=50": [401, { error: "Sign in first.", code: "unauthenticated" }],
    "PATCH /sessions/demo-session-1": [404, { error: "No such session.", code: "not_found" }],
    "DELETE /sessions/demo-session-1": [403, { error: "Not yours.", code: "forbidden" }],
    "GET /sessions/demo-session-1/audit": [200, "not json", "text/plain"],
    "GET /config.json": [200, { trace_url: null, auth: { modes: ["none"], login_url: null } }],
  });
  await assert.rejects(api.listSessions(), (e) => e instanceof ApiError && e.status === 401 && e.unauthenticated && e.message === "Sign in first.");
  await assert.rejects(api.renameSession("demo-session-1", "x"), (e) => e.status === 404 && e.code === "not_found" && !e.unauthenticated);
  await assert.rejects(api.deleteSession("demo-session-1"), (e) => e.status === 403 && e.code === "forbidden");
  await assert.rejects(api.audit("demo-session-1"), (e) => e.code === "invalid_response");
  assert.deepEqual((await api.config()).auth.modes, ["none"]);
});

test("429 with Retry-After and an OperationOutcome, 421 host_not_allowed: the server's words and the wait", async () => {
  const outcome = {
    resourceType: "OperationOutcome",
    issue: [{ severity: "error", code: "throttled", diagnostics: "Too many imports at once: at most 2." }, { severity: "information", code: "informational", details: { text: "Retry later." } }, { severity: "error" }],
  };
  const { api } = fakeServer({
    "GET /sessions?limit=50": [429, outcome, "application/fhir+json", { "Retry-After": "12" }],
    "GET /sessions/demo-session-1/audit": [421, { error: "The Host header evil.test is not one this server answers to.", code: "host_not_allowed" }],
    "PATCH /sessions/demo-session-1": [429, { error: "Too many requests.", code: "too_many_requests" }, "application/json", { "Retry-After": "90" }],
    "DELETE /sessions/demo-session-1": [429, "", "text/plain"],
    "GET /config.json": [429, { resourceType: "OperationOutcome", issue: [] }, "application/fhir+json", { "Retry-After": "soon" }],
  });
  await assert.rejects(api.listSessions(), (e) => {
    assert.equal(e.status, 429);
    assert.equal(e.code, "too_many_requests");
    assert.equal(e.retryAfterMs, 12000);
    assert.equal(e.message, "Too many imports at once: at most 2. Retry later. Try again in 12 s.");
    return true;
  });
  await assert.rejects(api.audit("demo-session-1"), (e) =>
    e.status === 421 && e.code === "host_not_allowed" && e.retryAfterMs === null && e.message === "The Host header evil.test is not one this server answers to.");
  await assert.rejects(api.renameSession("demo-session-1", "x"), (e) => e.message === "Too many requests. Try again in 1 min 30 s." && e.retryAfterMs === 90000);
  await assert.rejects(api.deleteSession("demo-session-1"), (e) => e.code === "too_many_requests" && e.message === "The server has too many requests from you just now.");
  await assert.rejects(api.config(), (e) => e.retryAfterMs === null && e.message === "The server has too many requests from you just now.");
});

test("Retry-After as seconds or an HTTP date", () => {
  const now = Date.UTC(2026, 10, 25, 9, 0, 0);
  assert.equal(retryAfterHeader("0", now), 0);
  assert.equal(retryAfterHeader(" 30 ", now), 30000);
  assert.equal(retryAfterHeader("Wed, 25 Nov 2026 09:00:45 GMT", now), 45000);
  assert.equal(retryAfterHeader("Wed, 25 Nov 2026 08:00:00 GMT", now), 0, "a date past is now");
  for (const bad of [null, undefined, "", "-5", "1.5", "later", "99999999999"]) assert.equal(retryAfterHeader(bad, now), null, String(bad));
});
