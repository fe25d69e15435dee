import { test } from "node:test";
import assert from "node:assert/strict";
import { Api, ApiError } from "../public/lib/api.js";

/** A fetch double that records each request and answers from a table of routes. */
function fakeServer(routes) {
  const requests = [];
  const fetch = async (path, init) => {
    requests.push({ path, method: init.method, headers: init.headers, body: init.body === undefined ? undefined : JSON.parse(init.body), credentials: init.credentials });
    const answer = routes[`${init.method} ${path}`];
    if (answer === undefined) return new Response(JSON.stringify({ error: "no route", code: "not_found" }), { status: 404 });
    if (answer instanceof Error) throw answer;
    const [status, body, type = "application/json"] = answer;
    return new Response(body === null ? null : typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "Content-Type": type } });
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
