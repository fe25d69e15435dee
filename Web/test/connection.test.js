import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection, newId, STABLE_MS } from "../public/lib/connection.js";

/** A WebSocket double: the test opens it, feeds it server events and drops it. */
class FakeSocket {
  static instances = [];
  readyState = 0;
  sent = [];
  closedWith = null;
  constructor(url) {
    this.url = url;
    FakeSocket.instances.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code) {
    this.closedWith = code;
    this.readyState = 3;
  }
  // test side
  open(latestSeq = 0, resumedFrom = null) {
    this.readyState = 1;
    this.onopen?.();
    this.receive({ type: "connection", session_id: "s-test-001", status: "connected", resumed_from: resumedFrom, latest_seq: latestSeq });
  }
  receive(event) {
    this.onmessage?.({ data: typeof event === "string" ? event : JSON.stringify(event) });
  }
  drop() {
    this.readyState = 3;
    this.onerror?.();
    this.onclose?.({ code: 1006 });
  }
  /** The server closes the socket with a close frame. */
  serverClose(code, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: true });
  }
}

function harness({ random = () => 0.5, lastSeq, unacknowledged } = {}) {
  FakeSocket.instances = [];
  const timers = [];
  let clock = 1_000;
  let ids = 0;
  const events = [];
  const statuses = [];
  const ends = [];
  const connection = new Connection({
    url: "ws://bedside.test",
    sessionId: "s-test-001",
    lastSeq,
    unacknowledged,
    WebSocket: FakeSocket,
    setTimeout: (fn, ms) => {
      const timer = { fn, ms, done: false };
      timers.push(timer);
      return timer;
    },
    clearTimeout: (timer) => {
      if (timer) timer.done = true;
    },
    now: () => clock,
    random,
    newId: () => `c-${++ids}`,
    onEvent: (e) => events.push(e),
    onStatus: (s) => statuses.push(s),
    onEnd: (e) => ends.push(e),
  });
  const fire = () => {
    const timer = timers.filter((t) => !t.done).at(-1);
    timer.done = true;
    clock += timer.ms;
    timer.fn();
  };
  const socket = () => FakeSocket.instances.at(-1);
  return { connection, timers, events, statuses, ends, fire, socket, sockets: FakeSocket.instances };
}

const user = (seq, id, content = "hi") => ({ type: "user", session_id: "s-test-001", seq, turn_id: "t1", content, client_message_id: id });

test("connects with last_seq=0 so that a reload replays the whole session", () => {
  const h = harness();
  h.connection.start();
  assert.equal(h.socket().url, "ws://bedside.test/ws?session_id=s-test-001&last_seq=0");
  assert.equal(h.connection.status.state, "connecting");
  h.socket().open();
  assert.equal(h.connection.status.state, "connected");
  assert.deepEqual(h.statuses.map((s) => s.state), ["connecting", "connected"]);
  assert.equal(h.events[0].type, "connection");
});

test("events pass once, in seq order; replays and echoes are dropped", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.socket().receive(user(1, null));
  h.socket().receive({ type: "turn", seq: 2, turn_id: "t1", status: "started" });
  h.socket().receive(user(1, null));
  h.socket().receive({ type: "turn", seq: 2, turn_id: "t1", status: "started" });
  h.socket().receive("not json");
  h.socket().receive("42");
  assert.deepEqual(h.events.map((e) => e.seq ?? e.type), ["connection", 1, 2]);
  assert.equal(h.connection.lastSeq, 2);
});

test("reconnects with backoff and resumes from the newest seq", () => {
  const h = harness({ random: () => 0.5 });
  h.connection.start();
  h.socket().open();
  h.socket().receive(user(1, null));
  h.socket().receive({ type: "turn", seq: 2, turn_id: "t1", status: "started" });
  h.socket().drop();
  assert.equal(h.connection.status.state, "reconnecting");
  assert.equal(h.connection.status.attempt, 1);
  assert.equal(h.connection.status.retryInMs, 250);
  assert.equal(h.connection.status.retryAt, 1_250);
  h.fire();
  assert.equal(h.socket().url, "ws://bedside.test/ws?session_id=s-test-001&last_seq=2");
  h.socket().drop(); // the server is still down
  assert.equal(h.connection.status.attempt, 2);
  assert.equal(h.connection.status.retryInMs, 500);
  h.fire();
  h.socket().open(3, 2);
  assert.equal(h.connection.status.state, "connected");
  h.socket().receive({ type: "turn", seq: 3, turn_id: "t1", status: "completed" });
  assert.deepEqual(h.events.filter((e) => e.seq).map((e) => e.seq), [1, 2, 3]);
  // a connection that stays open STABLE_MS resets the schedule
  const stable = h.timers.filter((t) => !t.done);
  assert.deepEqual(stable.map((t) => t.ms), [STABLE_MS]);
  h.fire();
  h.socket().drop();
  assert.equal(h.connection.status.attempt, 1);
  assert.equal(h.connection.status.retryInMs, 250);
  assert.deepEqual(
    h.statuses.map((s) => `${s.state}${s.attempt || ""}`),
    ["connecting", "connected", "reconnecting1", "reconnecting2", "connected", "reconnecting1"],
  );
});

test("a connection dropped soon after it opened does not reset the backoff: no hot loop", () => {
  const h = harness({ random: () => 0.5 });
  h.connection.start();
  h.socket().open();
  h.socket().drop();
  for (let attempt = 2; attempt <= 6; attempt += 1) {
    h.fire();
    h.socket().open(); // greeted, then dropped at once (an overflow, a failing replay)
    h.socket().drop();
    assert.equal(h.connection.status.attempt, attempt);
  }
  assert.equal(h.connection.status.retryInMs, 8_000, "0.5 s × 2^5 × 0.5");
  assert.equal(h.timers.filter((t) => !t.done).length, 1, "only the retry is pending: the stability timers were cleared");
});

test("an unacknowledged message is resent with the same client_message_id", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  const id = h.connection.send("What are Maria Garcia's conditions?");
  assert.equal(id, "c-1");
  assert.deepEqual(h.socket().sent, [
    { type: "message", session_id: "s-test-001", content: "What are Maria Garcia's conditions?", client_message_id: "c-1" },
  ]);
  assert.equal(h.connection.send("another"), null, "one message at a time");
  h.socket().drop();
  h.fire();
  h.socket().open();
  assert.deepEqual(h.socket().sent.map((f) => f.client_message_id), ["c-1"]);
  h.socket().receive(user(1, "c-1"));
  assert.equal(h.connection.unacknowledged, null);
  h.socket().drop();
  h.fire();
  h.socket().open(1, 1);
  assert.deepEqual(h.socket().sent, [], "an acknowledged message is not sent again");
});

test("a message sent while disconnected goes out once connected", () => {
  const h = harness();
  h.connection.start();
  assert.equal(h.connection.send("early"), "c-1");
  assert.deepEqual(h.socket().sent, []);
  h.socket().open();
  assert.deepEqual(h.socket().sent.map((f) => f.content), ["early"]);
});

test("busy frees the message slot", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.connection.send("one");
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "A turn is already running", code: "busy" });
  assert.equal(h.connection.unacknowledged, null);
  assert.equal(h.events.at(-1).code, "busy");
  assert.equal(h.connection.send("two"), "c-2");
});

test("cancel is sent at once, or after reconnecting", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.connection.cancel();
  assert.deepEqual(h.socket().sent, [{ type: "cancel", session_id: "s-test-001" }]);
  h.socket().drop();
  h.connection.cancel();
  h.fire();
  h.socket().open();
  assert.deepEqual(h.socket().sent, [{ type: "cancel", session_id: "s-test-001" }]);
  h.socket().drop();
  h.fire();
  h.socket().open();
  assert.deepEqual(h.socket().sent, [], "sent once");
});

test("retryNow skips the wait; close stops for good", () => {
  const h = harness();
  h.connection.retryNow(); // nothing to retry yet
  assert.equal(h.sockets.length, 0);
  h.connection.start();
  h.socket().open();
  h.socket().drop();
  assert.equal(h.sockets.length, 1);
  h.connection.retryNow();
  assert.equal(h.sockets.length, 2);
  assert.equal(h.timers.filter((t) => !t.done).length, 0, "the backoff timer was cleared");
  h.socket().open();
  h.connection.close();
  assert.equal(h.sockets[1].closedWith, 1000);
  assert.equal(h.connection.status.state, "disconnected");
  h.sockets[1].drop();
  assert.equal(h.sockets.length, 2, "no reconnection after close");
  h.connection.close(); // twice is fine
});

test("a socket that cannot even be constructed is retried", () => {
  let fail = true;
  const h = harness();
  const Throwing = class extends FakeSocket {
    constructor(url) {
      if (fail) throw new Error("blocked");
      super(url);
    }
  };
  const connection = new Connection({
    url: "ws://bedside.test",
    sessionId: "s-test-001",
    WebSocket: Throwing,
    setTimeout: (fn, ms) => h.timers.push({ fn, ms, done: false }) && h.timers.at(-1),
    clearTimeout: () => {},
    random: () => 0,
  });
  connection.start();
  assert.equal(connection.status.state, "reconnecting");
  fail = false;
  h.fire();
  assert.equal(h.socket().url, "ws://bedside.test/ws?session_id=s-test-001&last_seq=0");
});

test("resumes from a given seq and ignores a stale socket's close", () => {
  const h = harness({ lastSeq: 7 });
  h.connection.start();
  assert.match(h.socket().url, /last_seq=7$/);
  const first = h.socket();
  first.open(7, 7);
  h.connection.close();
  h.connection.start();
  first.onclose?.({ code: 1006 });
  assert.equal(h.sockets.length, 2);
});

test("ids are 32 hex digits", () => {
  assert.match(newId(), /^[0-9a-f]{32}$/);
  assert.notEqual(newId(), newId());
});

for (const reason of ["signed_out", "session_expired", "credential_revoked", "token_expired"]) {
  test(`4401 ${reason} ends the connection: no reconnection until start()`, () => {
    const h = harness();
    h.connection.start();
    h.socket().open();
    h.socket().receive(user(1, null));
    h.socket().serverClose(4401, reason);
    assert.deepEqual(h.ends, [{ code: 4401, reason, kind: "credential" }]);
    assert.deepEqual(h.connection.ended, { code: 4401, reason, kind: "credential" });
    assert.equal(h.connection.status.state, "disconnected");
    assert.equal(h.timers.filter((t) => !t.done).length, 0, "no backoff timer: not a blind reconnect loop");
    h.connection.retryNow();
    assert.equal(h.sockets.length, 1, "retryNow does not reopen an ended connection");
    assert.deepEqual(h.statuses.map((st) => st.state), ["connecting", "connected", "disconnected"]);
  });
}

test("after 4401 and a sign-in, start() resumes from the last seq and resends the unacknowledged message once", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.socket().receive(user(1, "c-0"));
  h.socket().receive({ type: "turn", seq: 2, turn_id: "t1", status: "started" });
  assert.equal(h.connection.send("asked just before the sign-in expired"), "c-1");
  h.socket().serverClose(4401, "session_expired");
  assert.equal(h.connection.unacknowledged.client_message_id, "c-1", "kept while signed out");
  assert.equal(h.connection.send("another"), null);
  h.connection.start();
  assert.equal(h.connection.ended, null);
  assert.equal(h.socket().url, "ws://bedside.test/ws?session_id=s-test-001&last_seq=2");
  h.socket().open(3, 2);
  assert.deepEqual(h.socket().sent.map((f) => [f.type, f.client_message_id]), [["message", "c-1"]]);
  // The replay repeats seq 2; the server had accepted c-1 before the close (seq 3).
  h.socket().receive({ type: "turn", seq: 2, turn_id: "t1", status: "started" });
  h.socket().receive(user(3, "c-1", "asked just before the sign-in expired"));
  h.socket().receive(user(3, "c-1", "asked just before the sign-in expired")); // the direct reply to the resend
  assert.deepEqual(h.events.filter((e) => e.seq).map((e) => e.seq), [1, 2, 3], "nothing lost or doubled");
  assert.equal(h.connection.unacknowledged, null);
  h.connection.start(); // already open: nothing new
  assert.equal(h.sockets.length, 2);
});

test("4404 session_deleted ends the connection without a retry", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.socket().serverClose(4404, "session_deleted");
  assert.deepEqual(h.ends, [{ code: 4404, reason: "session_deleted", kind: "deleted" }]);
  assert.equal(h.connection.status.state, "disconnected");
  assert.equal(h.timers.filter((t) => !t.done).length, 0);
  assert.equal(h.sockets.length, 1);
});

test("other server closes still reconnect with backoff", () => {
  for (const code of [1001, 1008, 1011, 1013]) {
    const h = harness();
    h.connection.start();
    h.socket().open();
    h.socket().serverClose(code, "");
    assert.equal(h.connection.status.state, "reconnecting", `code ${code}`);
    assert.deepEqual(h.ends, []);
    h.fire();
    assert.equal(h.sockets.length, 2);
  }
});

test("a final close after close() is not reported; start() cancels a pending retry", () => {
  const h = harness();
  h.connection.start();
  const first = h.socket();
  first.open();
  h.connection.close();
  first.onclose?.({ code: 4401, reason: "signed_out" }); // handlers were detached: nothing happens
  assert.deepEqual(h.ends, []);
  h.connection.start();
  h.socket().drop();
  assert.equal(h.timers.filter((t) => !t.done).length, 1);
  h.connection.start();
  assert.equal(h.timers.filter((t) => !t.done).length, 0, "the backoff timer was cleared");
  assert.equal(h.sockets.length, 3);
});

test("a message kept over a sign-in is sent first under its own id", () => {
  const h = harness({ lastSeq: 4, unacknowledged: { content: "kept", client_message_id: "kept-1" } });
  assert.deepEqual(h.connection.unacknowledged, { type: "message", session_id: "s-test-001", content: "kept", client_message_id: "kept-1" });
  assert.equal(h.connection.send("new"), null, "it holds the one message slot");
  h.connection.start();
  h.socket().open(5, 4);
  assert.deepEqual(h.socket().sent, [{ type: "message", session_id: "s-test-001", content: "kept", client_message_id: "kept-1" }]);
  h.socket().receive(user(5, "kept-1", "kept"));
  assert.equal(h.connection.unacknowledged, null);
  assert.equal(harness({ unacknowledged: { content: 3 } }).connection.unacknowledged, null, "a broken one is ignored");
});

const tooManyConnections = { type: "error", session_id: "s-test-001", timestamp: "2026-11-25T09:12:04.010233Z", error: "Too many open connections from this address.", code: "too_many_connections" };

test("4429 too_many_connections: retried on the slow schedule (2 s doubling to 60 s), never in a hot loop", () => {
  const h = harness({ random: () => 0 }); // the shortest delays jitter allows
  h.connection.start();
  const delays = [];
  for (let i = 0; i < 8; i += 1) {
    h.socket().readyState = 1; // the upgrade succeeded; the server refuses the socket at once
    h.socket().receive(tooManyConnections);
    h.socket().serverClose(4429, "too_many_connections");
    assert.equal(h.connection.status.state, "reconnecting");
    assert.equal(h.connection.status.reason, "too_many_connections");
    assert.equal(h.connection.status.attempt, i + 1);
    delays.push(h.connection.status.retryInMs);
    h.fire();
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(h.sockets.length, 9, "one socket per scheduled retry, none in between");
  assert.deepEqual(h.ends, [], "not a final close: the page keeps trying");
  assert.equal(h.events.filter((e) => e.code === "too_many_connections").length, 8, "the page sees the server's words");
});

test("a 4429 close without the error before it is a connection limit too; a later drop uses the quick schedule", () => {
  const h = harness({ random: () => 0.5 });
  h.connection.start();
  h.socket().serverClose(4429, "");
  assert.equal(h.connection.status.reason, "too_many_connections");
  assert.equal(h.connection.status.retryInMs, 1500);
  h.fire();
  h.socket().drop(); // the server is away now: an ordinary drop
  assert.equal(h.connection.status.reason, null);
  assert.equal(h.connection.status.retryInMs, 250);
});

test("after 4429 the slow schedule starts over only once a connection stayed open", () => {
  const h = harness({ random: () => 0 });
  h.connection.start();
  h.socket().serverClose(4429, "too_many_connections");
  h.fire();
  h.socket().serverClose(4429, "too_many_connections");
  assert.equal(h.connection.status.retryInMs, 2000);
  h.fire();
  h.socket().open(); // accepted, but closed again before it counted as stable
  h.socket().serverClose(4429, "too_many_connections");
  assert.equal(h.connection.status.retryInMs, 4000, "still growing");
  h.fire();
  h.socket().open();
  h.fire(); // STABLE_MS later
  assert.equal(h.connection.status.state, "connected");
  h.socket().serverClose(4429, "too_many_connections");
  assert.equal(h.connection.status.attempt, 1);
  assert.equal(h.connection.status.retryInMs, 1000, "back to the start");
  h.connection.close();
  assert.equal(h.connection.status.reason, null);
});

test("too_many_turns frees the message slot; the same text goes out again under the same id", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  assert.equal(h.connection.send("What changed in Maria's labs?"), "c-1");
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "Too many turns at once.", code: "too_many_turns", retry_after_ms: 12000 });
  assert.equal(h.connection.unacknowledged, null, "not accepted: nothing is resent by itself");
  assert.equal(h.events.at(-1).retry_after_ms, 12000);
  h.socket().drop();
  h.fire();
  h.socket().open();
  assert.deepEqual(h.socket().sent, [], "a refused message is not resent on reconnection");
  assert.equal(h.connection.send("What changed in Maria's labs?"), "c-1", "the resend reuses the id");
  h.socket().receive(user(1, "c-1", "What changed in Maria's labs?"));
  assert.equal(h.connection.send("Something else"), "c-2");
});

test("rate_limited on an open connection frees the message slot; the connection stays", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  assert.equal(h.connection.send("fast"), "c-1");
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "Too many frames per second.", code: "rate_limited" });
  assert.equal(h.connection.unacknowledged, null);
  assert.equal(h.connection.status.state, "connected");
  assert.equal(h.sockets.length, 1);
  assert.equal(h.connection.send("typed anew"), "c-2", "other text: a new id");
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "Too many frames per second.", code: "rate_limited" });
  assert.equal(h.connection.send("typed anew"), "c-2");
  // rate_limited with nothing unacknowledged (a dropped cancel) changes nothing
  h.socket().receive(user(1, "c-2", "typed anew"));
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "Too many frames per second.", code: "rate_limited" });
  assert.equal(h.connection.send("next"), "c-3");
});

test("cancel reaches the server while the turn waits in the queue", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.connection.send("queued question");
  h.socket().receive(user(1, "c-1", "queued question"));
  h.socket().receive({ type: "queued", session_id: "s-test-001", seq: 2, turn_id: "t1", position: 2 });
  h.connection.cancel();
  assert.deepEqual(h.socket().sent.at(-1), { type: "cancel", session_id: "s-test-001" });
  h.socket().receive({ type: "turn", session_id: "s-test-001", seq: 3, turn_id: "t1", status: "cancelled", reason: "cancelled_by_user" });
  assert.deepEqual(h.events.filter((e) => e.seq).map((e) => e.type), ["user", "queued", "turn"]);
});

test("retryNow while a retry is still connecting closes that socket and hears nothing more from it", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  h.socket().drop();
  h.fire(); // the retry's socket is still connecting…
  const stale = h.socket();
  h.connection.retryNow(); // …and the user asks again
  assert.equal(stale.closedWith, 1000);
  assert.equal(h.sockets.length, 3);
  stale.receive(tooManyConnections); // late words from the old socket change nothing
  h.socket().serverClose(1006, "");
  assert.equal(h.connection.status.reason, null, "the old socket's refusal is not this one's");
  assert.equal(h.events.filter((e) => e.code === "too_many_connections").length, 0);
});

test("shutting_down keeps the message: it goes out again, under the same id, once reconnected", () => {
  const h = harness();
  h.connection.start();
  h.socket().open();
  assert.equal(h.connection.send("What changed in Maria's labs?"), "c-1");
  h.socket().receive({ type: "error", session_id: "s-test-001", error: "The server is shutting down.", code: "shutting_down" });
  assert.equal(h.events.at(-1).code, "shutting_down", "the page sees the server's words");
  assert.equal(h.connection.unacknowledged?.client_message_id, "c-1", "still waiting for its echo");
  assert.equal(h.connection.send("another"), null, "it keeps the one message slot");
  assert.equal(h.socket().sent.length, 1, "not resent on the socket that is going away");
  h.socket().serverClose(1001, "server shutting down");
  assert.equal(h.connection.status.state, "reconnecting");
  h.fire();
  h.socket().drop(); // the server is not back yet
  h.fire();
  h.socket().open(2, 0);
  assert.deepEqual(h.socket().sent, [
    { type: "message", session_id: "s-test-001", content: "What changed in Maria's labs?", client_message_id: "c-1" },
  ]);
  h.socket().receive(user(1, "c-1", "What changed in Maria's labs?"));
  assert.equal(h.connection.unacknowledged, null);
  assert.equal(h.connection.send("next"), "c-2");
});
