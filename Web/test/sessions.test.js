import { test } from "node:test";
import assert from "node:assert/strict";
import {
  auditPath,
  compareSessions,
  conversationHref,
  displayTitle,
  exportLink,
  initialList,
  normalizeSummary,
  reduceList,
  sessionPath,
  sessionsPath,
  turnStatusLabel,
  validTitle,
} from "../public/lib/sessions.js";

const at = (minute) => `2026-11-25T09:${String(minute).padStart(2, "0")}:00Z`;
const s = (id, minute, fields = {}) => ({
  id,
  title: `Title ${id}`,
  created: at(0),
  last_activity: at(minute),
  turn_count: 1,
  last_turn_status: "completed",
  ...fields,
});
const ids = (state) => state.items.map((x) => x.id);
const run = (actions, state = initialList()) => actions.reduce(reduceList, state);

test("a page becomes the list, newest activity first, bad entries left out", () => {
  const state = run([
    { type: "load" },
    { type: "loaded", page: { sessions: [s("session-b", 5), s("session-a", 9), { id: "bad id!" }, null, s("session-b", 1)], next: "c1" } },
  ]);
  assert.deepEqual(ids(state), ["session-a", "session-b"]);
  assert.equal(state.items[1].activityTime, Date.parse(at(5)), "the first of two copies is kept");
  assert.equal(state.next, "c1");
  assert.equal(state.status, "ready");
  assert.deepEqual(state.items[0], {
    id: "session-a",
    title: "Title session-a",
    created: at(0),
    lastActivity: at(9),
    activityTime: Date.parse(at(9)),
    turnCount: 1,
    lastTurnStatus: "completed",
  });
});

test("live updates move a conversation to the top, rename it, add new ones and delete", () => {
  let state = run([{ type: "load" }, { type: "loaded", page: { sessions: [s("session-a", 9), s("session-b", 5), s("session-c", 1)], next: null } }]);
  state = reduceList(state, { type: "session", summary: s("session-c", 12, { last_turn_status: "started", turn_count: 2 }) });
  assert.deepEqual(ids(state), ["session-c", "session-a", "session-b"]);
  assert.equal(state.items[0].lastTurnStatus, "started");
  state = reduceList(state, { type: "session", summary: s("session-b", 5, { title: "Renamed" }) });
  assert.deepEqual(ids(state), ["session-c", "session-a", "session-b"]);
  assert.equal(state.items[2].title, "Renamed");
  state = reduceList(state, { type: "session", summary: s("session-new", 13, { turn_count: 0, last_turn_status: null }) });
  assert.deepEqual(ids(state), ["session-new", "session-c", "session-a", "session-b"]);
  const before = state;
  state = reduceList(state, { type: "session_deleted", id: "session-a" });
  assert.deepEqual(ids(state), ["session-new", "session-c", "session-b"]);
  assert.deepEqual(ids(before), ["session-new", "session-c", "session-a", "session-b"], "the old state is not changed");
  assert.equal(reduceList(state, { type: "session", summary: { title: "no id" } }), state);
  assert.equal(reduceList(state, { type: "session_deleted", id: 42 }), state);
  assert.equal(reduceList(state, { type: "nothing" }), state);
  assert.equal(reduceList(state, null), state);
});

test("with more pages to load, an older conversation waits for its page", () => {
  let state = run([{ type: "load" }, { type: "loaded", page: { sessions: [s("session-a", 9), s("session-b", 5)], next: "cur-1" } }]);
  const renamedOld = reduceList(state, { type: "session", summary: s("session-old", 2, { title: "Renamed elsewhere" }) });
  assert.deepEqual(ids(renamedOld), ["session-a", "session-b"], "older than what is loaded: it comes with Load more");
  state = reduceList(state, { type: "session", summary: s("session-old", 20) });
  assert.deepEqual(ids(state), ["session-old", "session-a", "session-b"], "new activity brings it in");
});

test("Load more appends older pages; live updates and deletions meanwhile win", () => {
  let state = run([{ type: "load" }, { type: "loaded", page: { sessions: [s("session-a", 30), s("session-b", 29)], next: "cur-1" } }]);
  state = reduceList(state, { type: "more" });
  assert.equal(state.loadingMore, true);
  assert.equal(reduceList(state, { type: "more" }), state, "one at a time");
  // While the page is on its way: session-d gets new activity, session-e is deleted.
  state = reduceList(state, { type: "session", summary: s("session-d", 40) });
  state = reduceList(state, { type: "session_deleted", id: "session-e" });
  state = reduceList(state, { type: "more_loaded", page: { sessions: [s("session-c", 20), s("session-d", 19), s("session-e", 18)], next: null } });
  assert.deepEqual(ids(state), ["session-d", "session-a", "session-b", "session-c"]);
  assert.equal(state.items[0].lastActivity, at(40), "the live copy is kept");
  assert.equal(state.next, null);
  assert.equal(state.loadingMore, false);
  assert.equal(reduceList(state, { type: "more" }), state, "nothing more to load");
  // A deleted id that is used again comes back.
  state = reduceList(state, { type: "session", summary: s("session-e", 41) });
  assert.equal(ids(state)[0], "session-e");
  assert.equal(state.tombstones.includes("session-e"), false);
});

test("a refetch (after the live channel reconnected) replaces the list and keeps what arrived meanwhile", () => {
  let state = run([{ type: "load" }, { type: "loaded", page: { sessions: [s("session-a", 9), s("session-b", 5), s("session-gone", 4)], next: null } }]);
  state = reduceList(state, { type: "load" });
  assert.equal(state.status, "loading");
  assert.deepEqual(ids(state), ["session-a", "session-b", "session-gone"], "the old list stays shown meanwhile");
  state = reduceList(state, { type: "session", summary: s("session-b", 50, { title: "newer than the page" }) });
  state = reduceList(state, { type: "session_deleted", id: "session-a" });
  // The page was read before those two events: it still has session-a and the old session-b.
  state = reduceList(state, { type: "loaded", page: { sessions: [s("session-a", 9), s("session-b", 5), s("session-x", 3)], next: null } });
  assert.deepEqual(ids(state), ["session-b", "session-x"]);
  assert.equal(state.items[0].title, "newer than the page");
  assert.equal(state.touched, null);
});

test("failures are kept for the view; a new load clears them", () => {
  let state = run([{ type: "load" }, { type: "load_failed", error: "The server could not be reached." }]);
  assert.equal(state.status, "error");
  assert.equal(state.error, "The server could not be reached.");
  state = run([{ type: "load" }, { type: "loaded", page: { sessions: [], next: "n" } }], state);
  assert.equal(state.error, null);
  state = run([{ type: "more" }, { type: "more_failed", error: "boom" }], state);
  assert.equal(state.loadingMore, false);
  assert.equal(state.error, "boom");
  state = run([{ type: "more" }, { type: "load" }], state);
  assert.equal(state.loadingMore, false, "a reload abandons Load more");
  const bare = reduceList(initialList(), { type: "loaded", page: null });
  assert.deepEqual([bare.items, bare.next], [[], null]);
});

test("summaries: missing fields, sort order, titles and statuses", () => {
  const summary = normalizeSummary({ id: "session-z", created: at(3) });
  assert.deepEqual(summary, {
    id: "session-z",
    title: "",
    created: at(3),
    lastActivity: at(3),
    activityTime: Date.parse(at(3)),
    turnCount: 0,
    lastTurnStatus: null,
  });
  assert.equal(normalizeSummary({ id: "session-y", last_activity: "nope" }).activityTime, 0);
  assert.equal(normalizeSummary({ id: "session-y", last_turn_status: "exploded", turn_count: -1 }).lastTurnStatus, null);
  const a = normalizeSummary(s("session-a", 5));
  const b = normalizeSummary(s("session-b", 5));
  assert.ok(compareSessions(a, b) < 0 && compareSessions(b, a) > 0, "equal times by id");
  assert.equal(compareSessions(a, a), 0);
  assert.equal(displayTitle({ title: "  " }), "Untitled conversation");
  assert.equal(displayTitle({ title: "Maria's labs" }), "Maria's labs");
  assert.equal(validTitle("  New name \n"), "New name");
  assert.equal(validTitle("   "), null);
  assert.equal(validTitle("x".repeat(200)), "x".repeat(200));
  assert.equal(validTitle("x".repeat(201)), null);
  assert.equal(validTitle(undefined), null);
  assert.deepEqual(["started", "completed", "cancelled", "failed", null].map(turnStatusLabel), ["Answering", "Completed", "Stopped", "Failed", ""]);
});

test("the session routes and export links", () => {
  assert.equal(sessionsPath(), "/sessions?limit=50");
  assert.equal(sessionsPath({ before: "a b&c" }), "/sessions?limit=50&before=a+b%26c");
  assert.equal(sessionsPath({ limit: 10, before: null }), "/sessions?limit=10");
  assert.equal(sessionPath("demo-session-1"), "/sessions/demo-session-1");
  assert.equal(auditPath("demo-session-1"), "/sessions/demo-session-1/audit");
  assert.throws(() => sessionPath("../admin"), TypeError);
  assert.throws(() => sessionPath(undefined), TypeError);
  assert.deepEqual(exportLink("demo-session-1", "markdown"), {
    href: "/sessions/demo-session-1/export?format=markdown",
    filename: "bedside-demo-session-1.md",
    label: "Markdown",
  });
  assert.deepEqual(exportLink("demo-session-1", "json"), {
    href: "/sessions/demo-session-1/export?format=json",
    filename: "bedside-demo-session-1.json",
    label: "JSON",
  });
  assert.throws(() => exportLink("demo-session-1", "pdf"), TypeError);
  assert.equal(conversationHref("session-2", "http://127.0.0.1:8000/?session=session-1&debug=1#x"), "/?session=session-2&debug=1");
  assert.equal(conversationHref("session-2", "http://127.0.0.1:8000/"), "/?session=session-2");
});
