import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionUpdates } from "../public/lib/session-updates.js";

/** An EventSource double: the test emits named server-sent events and errors. */
class FakeEventSource {
  static instances = [];
  readyState = 0;
  listeners = {};
  closed = false;
  constructor(url, options) {
    this.url = url;
    this.options = options;
    FakeEventSource.instances.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ??= []).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type, data) {
    if (type === "ready") this.readyState = 1;
    for (const fn of this.listeners[type] ?? []) fn({ data: typeof data === "string" ? data : JSON.stringify(data) });
  }
  fail(readyState) {
    this.readyState = readyState;
    for (const fn of this.listeners.error ?? []) fn({});
  }
}

function harness() {
  FakeEventSource.instances = [];
  const timers = [];
  const log = [];
  const updates = new SessionUpdates({
    EventSource: FakeEventSource,
    setTimeout: (fn, ms) => {
      const t = { fn, ms, done: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      if (t) t.done = true;
    },
    random: () => 0.5,
    onReady: () => log.push("ready"),
    onSession: (s) => log.push(`session ${s.id}`),
    onDeleted: (id) => log.push(`deleted ${id}`),
    onLost: () => log.push("lost"),
  });
  const fire = () => {
    const t = timers.filter((x) => !x.done).at(-1);
    t.done = true;
    t.fn();
  };
  return { updates, timers, log, fire, source: () => FakeEventSource.instances.at(-1) };
}

test("subscribes to /sessions/updates and hands on ready, session and session_deleted", () => {
  const h = harness();
  h.updates.start();
  h.updates.start(); // once
  assert.equal(FakeEventSource.instances.length, 1);
  assert.equal(h.source().url, "/sessions/updates");
  assert.deepEqual(h.source().options, { withCredentials: true });
  h.source().emit("ready", {});
  h.source().emit("session", { id: "demo-session-1", title: "Labs" });
  h.source().emit("session_deleted", { id: "demo-session-2" });
  h.source().emit("session", "not json");
  h.source().emit("session", 42);
  h.source().emit("session_deleted", { nope: 1 });
  assert.deepEqual(h.log, ["ready", "session demo-session-1", "deleted demo-session-2"]);
  assert.equal(h.updates.running, true);
});

test("the browser's own reconnect gives a new ready (the list is fetched again)", () => {
  const h = harness();
  h.updates.start();
  h.source().emit("ready", {});
  h.source().fail(0); // CONNECTING: the browser retries by itself
  assert.equal(FakeEventSource.instances.length, 1);
  assert.equal(h.timers.length, 0);
  h.source().emit("ready", {});
  assert.deepEqual(h.log, ["ready", "ready"]);
});

test("when the browser gives up, onLost is told and the channel opens again with backoff", () => {
  const h = harness();
  h.updates.start();
  const first = h.source();
  first.fail(2); // CLOSED: an HTTP error such as 401
  assert.deepEqual(h.log, ["lost"]);
  assert.equal(first.closed, true);
  assert.equal(h.timers.at(-1).ms, 500, "half of the first backoff step (1 s)");
  first.emit("session", { id: "late-session" });
  assert.deepEqual(h.log, ["lost"], "a closed source says nothing more");
  h.fire();
  assert.equal(FakeEventSource.instances.length, 2);
  h.source().fail(2);
  assert.equal(h.timers.at(-1).ms, 1000, "the second step doubles");
  h.fire();
  h.source().emit("ready", {});
  h.source().fail(2);
  assert.equal(h.timers.at(-1).ms, 500, "ready resets the backoff");
});

test("stop closes the source and cancels a pending reopen", () => {
  const h = harness();
  h.updates.start();
  h.source().fail(2);
  h.updates.stop();
  assert.equal(h.updates.running, false);
  assert.ok(h.timers.every((t) => t.done));
  h.updates.start();
  const source = h.source();
  h.updates.stop();
  assert.equal(source.closed, true);
  source.fail(2);
  assert.deepEqual(h.log, ["lost"], "a stopped channel does not report");
  // onLost may stop the channel: then nothing is reopened.
  const stopping = new SessionUpdates({ EventSource: FakeEventSource, setTimeout: () => assert.fail("no reopen"), clearTimeout: () => {}, onLost: () => stopping.stop() });
  stopping.start();
  FakeEventSource.instances.at(-1).fail(2);
  assert.equal(stopping.running, false);
  assert.equal(new SessionUpdates({ EventSource: undefined }).supported, false);
  const unsupported = new SessionUpdates({ EventSource: undefined });
  unsupported.start();
  assert.equal(unsupported.running, false);
});
