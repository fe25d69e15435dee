import { test } from "node:test";
import assert from "node:assert/strict";
import { authFromConfig, canChat, principalFromMe, safeLogoutURL, signInHref } from "../public/lib/auth.js";

test("auth is on when config.json lists a mode other than none", () => {
  assert.deepEqual(authFromConfig({ auth: { modes: ["oidc"], login_url: "/auth/login" } }), {
    enabled: true,
    modes: ["oidc"],
    loginURL: "/auth/login",
  });
  assert.deepEqual(authFromConfig({ auth: { modes: ["none"], login_url: null } }), { enabled: false, modes: ["none"], loginURL: null });
  assert.equal(authFromConfig({ auth: { modes: ["jwt", "keys"], login_url: null } }).enabled, true);
  assert.equal(authFromConfig({ auth: { modes: ["jwt", "keys"], login_url: null } }).loginURL, null);
  // An older server (no auth part), a broken answer or nothing at all: no auth, as before.
  for (const config of [{ trace_url: null }, { auth: { modes: [] } }, { auth: { modes: "oidc" } }, null, "x"]) {
    assert.deepEqual(authFromConfig(config), { enabled: false, modes: ["none"], loginURL: null }, JSON.stringify(config));
  }
});

test("the principal of /auth/me, with the name falling back to the subject", () => {
  const me = {
    principal: { key: "0f3c", issuer: "https://id.example", subject: "u-1", name: "Dr. Ada Lovelace", roles: ["clinician", 3] },
    method: "cookie",
    expires_at: "2026-11-25T21:00:00Z",
  };
  assert.deepEqual(principalFromMe(me), {
    key: "0f3c",
    issuer: "https://id.example",
    subject: "u-1",
    name: "Dr. Ada Lovelace",
    roles: ["clinician"],
    method: "cookie",
    expiresAt: "2026-11-25T21:00:00Z",
  });
  assert.equal(principalFromMe({ principal: { key: "k", subject: "u-2", name: "" } }).name, "u-2");
  assert.equal(principalFromMe({ principal: { key: "k" } }).name, "k");
  assert.equal(principalFromMe({ principal: { name: "no key" } }), null);
  assert.equal(principalFromMe({}), null);
  assert.equal(principalFromMe(null), null);
});

test("only a clinician or an admin may chat", () => {
  assert.equal(canChat({ roles: ["clinician"] }), true);
  assert.equal(canChat({ roles: ["auditor", "admin"] }), true);
  assert.equal(canChat({ roles: ["Clinician"] }), true);
  assert.equal(canChat({ roles: ["auditor"] }), false);
  assert.equal(canChat({ roles: ["importer", "auditor"] }), false);
  // Roles the server did not say: the server decides.
  assert.equal(canChat({ roles: [] }), true);
  assert.equal(canChat({}), true);
  assert.equal(canChat(null), true);
});

test("Sign in returns to the same path and query", () => {
  const here = "https://bedside.example/?session=abc-123_456&x=1#frag";
  assert.equal(signInHref("/auth/login", here), "/auth/login?return_to=%2F%3Fsession%3Dabc-123_456%26x%3D1");
  const back = new URL(signInHref("/auth/login", here), here).searchParams.get("return_to");
  assert.equal(back, "/?session=abc-123_456&x=1");
  // A login URL with its own query keeps it; one on another origin stays absolute.
  assert.equal(signInHref("/auth/login?prompt=login", "http://127.0.0.1:8000/"), "/auth/login?prompt=login&return_to=%2F");
  assert.equal(signInHref("https://id.example/login", "http://127.0.0.1:8000/?session=s1234567"), "https://id.example/login?return_to=%2F%3Fsession%3Ds1234567");
});

test("only an http(s) logout URL is followed", () => {
  const here = "https://bedside.example/";
  assert.equal(safeLogoutURL("https://id.example/logout?x=1", here), "https://id.example/logout?x=1");
  assert.equal(safeLogoutURL("/", here), "https://bedside.example/");
  assert.equal(safeLogoutURL("javascript:alert(1)", here), null);
  assert.equal(safeLogoutURL("data:text/html,x", here), null);
  assert.equal(safeLogoutURL("http://[::1", here), null);
  assert.equal(safeLogoutURL(null, here), null);
  assert.equal(safeLogoutURL("", here), null);
});
