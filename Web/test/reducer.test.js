import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { initialState, reduce, reduceAll, turnActive, turnTotals, sessionTotals, spanDuration, timeOf } from "../public/lib/reducer.js";

const fixture = (name) =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));

const T = "8c1d2f6e-3b4a-4f5e-9a7b-2c6d8e0f1a3b";
const at = (ms) => new Date(Date.UTC(2026, 10, 25, 9, 0, 0, ms)).toISOString().replace("Z", "000Z");
const ev = (seq, type, fields = {}, ms = seq * 10) => ({ type, session_id: "s", seq, timestamp: at(ms), turn_id: T, ...fields });

test("the protocol's example turn becomes a conversation, a turn and two spans", () => {
  const state = reduceAll(initialState("demo-session-1"), fixture("protocol-shapes.jsonl"));
  assert.equal(state.lastSeq, 9);
  assert.equal(state.latestSeq, 0);
  assert.equal(state.serverVersion, "0.1.0");
  assert.deepEqual(state.messages.map((m) => [m.role, m.content]), [
    ["user", "What are Maria Garcia's active conditions?"],
    ["assistant", "Maria Garcia has two active conditions: type 2 diabetes mellitus and essential hypertension."],
  ]);
  assert.equal(state.messages[1].streaming, false);
  assert.equal(state.turns.length, 1);
  const [turn] = state.turns;
  assert.equal(turn.status, "completed");
  assert.equal(turn.durationMs, 1375.445);
  assert.equal(turn.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
  assert.deepEqual(turn.spans.map((s) => [s.kind, s.name, s.status, s.durationMs]), [
    ["llm", "gpt-4o-mini", "ok", 788.475],
    ["tool", "search_conditions", "ok", 44.21],
  ]);
  assert.deepEqual(turn.spans[0].tokens, { prompt: 812, completion: 41, total: 853 });
  assert.deepEqual(turn.spans[1].arguments, { clinical_status: "active", patient: "Patient/maria-garcia" });
  assert.equal(state.runningTurnId, null);
  assert.deepEqual(turnTotals(turn), { prompt: 1730, completion: 63, total: 1793, llmCalls: 1, toolCalls: 1 });
});

test("replaying the same events changes nothing", () => {
  const events = fixture("protocol-shapes.jsonl");
  const once = reduceAll(initialState(), events);
  const twice = reduceAll(once, events);
  assert.equal(twice, once, "the very same state object: nothing was applied");
  const shuffledResume = reduceAll(reduceAll(initialState(), events.slice(0, 6)), events.slice(3));
  assert.deepEqual(shuffledResume, once);
});

test("a streaming reply grows delta by delta and ends with the final text", () => {
  let state = reduceAll(initialState(), [ev(1, "user", { content: "q", client_message_id: null }), ev(2, "turn", { status: "started" })]);
  assert.equal(state.runningTurnId, T);
  const seen = [];
  for (const [i, delta] of ["Maria ", "has ", "two"].entries()) {
    state = reduce(state, ev(3 + i, "assistant", { content: delta, streaming: true, message_id: "m1" }));
    seen.push(state.messages.at(-1).content);
  }
  assert.deepEqual(seen, ["Maria ", "Maria has ", "Maria has two"]);
  assert.equal(state.messages.at(-1).streaming, true);
  state = reduce(state, ev(6, "assistant", { content: "Maria has two.", streaming: false, message_id: "m1" }));
  assert.equal(state.messages.at(-1).content, "Maria has two.");
  assert.equal(state.messages.at(-1).streaming, false);
  assert.equal(state.messages.length, 2);
});

test("spans run until they end; a running span grows with the clock", () => {
  let state = reduceAll(initialState(), [ev(1, "turn", { status: "started" }, 0), ev(2, "openai_call", { model: "m", provider: "offline" }, 100)]);
  const span = state.turns[0].spans[0];
  assert.equal(span.status, "running");
  assert.equal(spanDuration(span, timeOf(ev(0, "x", {}, 350))), 250);
  state = reduce(state, ev(3, "openai_response", { model: "m", prompt_tokens: 5, completion_tokens: 2, total_tokens: 7, duration_ms: 300.5, finish_reason: "tool_calls" }, 400));
  assert.equal(spanDuration(state.turns[0].spans[0], Infinity), 300.5);
  assert.equal(state.turns[0].spans[0].finishReason, "tool_calls");
  // parallel tools end in their own order, matched by tool_call_id
  state = reduceAll(state, [
    ev(4, "tool_call", { tool_call_id: "a", tool_name: "find_patients", arguments: { name: "x" } }, 410),
    ev(5, "tool_call", { tool_call_id: "b", tool_name: "patient_summary", arguments: {} }, 410),
    ev(6, "tool_result", { tool_call_id: "b", tool_name: "patient_summary", result: "{}", duration_ms: 5, is_error: false }, 415),
  ]);
  assert.deepEqual(state.turns[0].spans.map((s) => s.status), ["ok", "running", "ok"]);
  state = reduce(state, ev(7, "tool_result", { tool_call_id: "a", tool_name: "find_patients", result: "No such patient", duration_ms: 20, is_error: true }, 430));
  assert.deepEqual(state.turns[0].spans.map((s) => s.status), ["ok", "error", "ok"]);
  assert.deepEqual(turnTotals(state.turns[0]), { prompt: 5, completion: 2, total: 7, llmCalls: 1, toolCalls: 2 });
});

test("a cancelled turn stops its running spans and its streaming reply", () => {
  const state = reduceAll(initialState(), [
    ev(1, "turn", { status: "started" }),
    ev(2, "openai_call", { model: "m" }),
    ev(3, "assistant", { content: "Partial", streaming: true, message_id: "m1" }),
    ev(4, "turn", { status: "cancelled", duration_ms: 31, reason: "cancelled_by_user" }),
  ]);
  const [turn] = state.turns;
  assert.equal(turn.status, "cancelled");
  assert.equal(turn.reason, "cancelled_by_user");
  assert.equal(turn.spans[0].status, "stopped");
  assert.equal(turn.spans[0].end, timeOf(ev(4, "x")));
  assert.equal(state.messages[0].streaming, false);
  assert.equal(state.messages[0].cancelled, true);
  assert.equal(state.runningTurnId, null);
});

test("session errors join the conversation; connection errors become a notice", () => {
  let state = reduceAll(initialState(), [
    { type: "client/pending", client_message_id: "c-1", content: "hello" },
    ev(1, "user", { content: "hello", client_message_id: "c-1" }),
    ev(2, "turn", { status: "started" }),
    ev(3, "error", { error: "No language model is configured", code: "llm_unavailable" }),
    ev(4, "turn", { status: "failed", duration_ms: 0.142 }),
  ]);
  assert.deepEqual(state.pending, []);
  assert.deepEqual(state.messages.map((m) => m.role), ["user", "error"]);
  assert.equal(state.messages[1].code, "llm_unavailable");
  assert.equal(state.turns[0].status, "failed");
  assert.equal(turnTotals(state.turns[0]).total, 0);
  state = reduce(state, { type: "client/pending", client_message_id: "c-2", content: "again" });
  assert.equal(state.pending.length, 1);
  state = reduce(state, { type: "error", session_id: "s", error: "A turn is already running", code: "busy" });
  assert.deepEqual(state.pending, []);
  assert.deepEqual(state.notice, { code: "busy", message: "A turn is already running", retryAfterMs: null, receivedAt: null, refusedMessage: true });
  state = reduce(state, { type: "error", error: "gap", code: "resume_gap" });
  assert.equal(state.notice.code, "resume_gap");
  state = reduce(state, { type: "client/pending", client_message_id: "c-3", content: "x" });
  state = reduce(state, { type: "client/unsent", client_message_id: "c-3" });
  assert.deepEqual(state.pending, []);
});

test("an interrupted turn (server restart) ends failed with its reason", () => {
  const state = reduceAll(initialState(), [
    ev(1, "turn", { status: "started" }),
    ev(2, "tool_call", { tool_call_id: "a", tool_name: "t", arguments: {} }),
    ev(3, "error", { error: "interrupted", code: "turn_failed" }),
    ev(4, "turn", { status: "failed", reason: "interrupted" }),
  ]);
  assert.equal(state.turns[0].status, "failed");
  assert.equal(state.turns[0].reason, "interrupted");
  assert.equal(state.turns[0].durationMs, null);
  assert.equal(state.turns[0].spans[0].status, "stopped");
});

test("events of a turn whose start was not seen still show", () => {
  const state = reduceAll(initialState(), [
    ev(5, "openai_response", { model: "m", prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, duration_ms: 40 }, 100),
    ev(6, "tool_result", { tool_call_id: "z", tool_name: "t", result: "ok", duration_ms: 3, is_error: false }, 110),
  ]);
  assert.equal(state.turns.length, 1);
  assert.deepEqual(state.turns[0].spans.map((s) => [s.kind, s.durationMs, s.end - s.start]), [
    ["llm", 40, 40],
    ["tool", 3, 3],
  ]);
});

test("totals add up over turns", () => {
  const second = "22222222-3b4a-4f5e-9a7b-2c6d8e0f1a3b";
  const state = reduceAll(initialState(), [
    ...fixture("protocol-shapes.jsonl"),
    { ...ev(10, "turn", { status: "started" }), turn_id: second },
    { ...ev(11, "openai_call", { model: "m" }), turn_id: second },
    { ...ev(12, "openai_response", { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, duration_ms: 9 }), turn_id: second },
  ]);
  assert.deepEqual(sessionTotals(state), {
    prompt: 1740,
    completion: 68,
    total: 1808,
    llmCalls: 2,
    toolCalls: 1,
    turns: 2,
    durationMs: 1375.445,
  });
});

test("unknown and malformed input is ignored", () => {
  const start = initialState();
  assert.equal(reduce(start, null), start);
  assert.equal(reduce(start, { no: "type" }), start);
  assert.equal(reduce(start, { type: "something_new" }), start);
  assert.equal(reduce(start, { type: "something_new", seq: 1 }).lastSeq, 1);
  assert.equal(timeOf({}), null);
  assert.equal(spanDuration({ start: null, end: null, durationMs: null }, 5), 0);
});

test("real server events (the offline model's turns, shared with the Swift tests) reduce cleanly", () => {
  const events = fixture("offline-turn.jsonl");
  const state = reduceAll(initialState("web-fixture-session"), events);
  const last = events.at(-1).seq;
  assert.equal(state.lastSeq, last);
  const users = events.filter((e) => e.type === "user");
  const finals = events.filter((e) => e.type === "assistant" && !e.streaming);
  assert.deepEqual(
    state.messages.filter((m) => m.role === "user").map((m) => m.content),
    users.map((e) => e.content),
  );
  const replies = state.messages.filter((m) => m.role === "assistant");
  assert.deepEqual(replies.map((m) => m.content), finals.map((e) => e.content));
  for (const final of finals) {
    const deltas = events.filter((e) => e.type === "assistant" && e.streaming && e.message_id === final.message_id);
    assert.equal(deltas.map((e) => e.content).join(""), final.content, "deltas add up to the final text");
  }
  assert.equal(state.turns.length, users.length);
  for (const turn of state.turns) {
    assert.equal(turn.status, "completed");
    assert.ok(turn.spans.every((s) => s.end !== null && s.status !== "running"));
    const ended = events.find((e) => e.type === "turn" && e.turn_id === turn.id && e.status === "completed");
    const fromSpans = turn.spans.filter((s) => s.kind === "llm").reduce((n, s) => n + s.tokens.total, 0);
    assert.equal(fromSpans, ended.total_tokens, "the turn's total is the sum of its calls");
  }
  assert.ok(state.turns.some((t) => t.spans.some((s) => s.kind === "tool")));
  assert.equal(reduceAll(state, events), state, "a full replay adds nothing");
});

test("a tool from an MCP server keeps the server's name; built-in tools have none", () => {
  const state = reduceAll(initialState(), [
    ev(1, "turn", { status: "started" }, 0),
    ev(2, "tool_call", { tool_call_id: "a", tool_name: "aidbox__read-fhir-resource", server: "aidbox", arguments: {} }, 10),
    ev(3, "tool_call", { tool_call_id: "b", tool_name: "find_patients", arguments: {} }, 10),
    ev(4, "tool_result", { tool_call_id: "c", tool_name: "files__read_file", server: "files", result: "x", duration_ms: 3, is_error: false }, 20),
  ]);
  assert.deepEqual(state.turns[0].spans.map((s) => s.server), ["aidbox", null, "files"]);
});

test("queued: the turn waits with its position, then starts; the wait is a turn under way", () => {
  let state = reduceAll(initialState(), [
    { type: "client/pending", client_message_id: "c-1", content: "q" },
    ev(1, "user", { content: "q", client_message_id: "c-1" }),
  ]);
  assert.equal(turnActive(state), false);
  state = reduce(state, ev(2, "queued", { position: 2 }));
  assert.deepEqual(state.queued, { turnId: T, position: 2 });
  assert.equal(state.runningTurnId, null);
  assert.equal(turnActive(state), true, "Stop applies while it waits");
  state = reduce(state, ev(3, "queued", { position: 1 }));
  assert.deepEqual(state.queued, { turnId: T, position: 1 });
  state = reduce(state, ev(4, "turn", { status: "started" }));
  assert.equal(state.queued, null);
  assert.equal(state.runningTurnId, T);
  assert.equal(turnActive(state), true);
  state = reduce(state, ev(5, "turn", { status: "completed", duration_ms: 5 }));
  assert.equal(turnActive(state), false);
});

test("a turn cancelled while queued ends without ever starting", () => {
  const state = reduceAll(initialState(), [
    ev(1, "user", { content: "q", client_message_id: "c-1" }),
    ev(2, "queued", { position: 3 }),
    ev(3, "turn", { status: "cancelled", reason: "cancelled_by_user", duration_ms: 0 }),
  ]);
  assert.equal(state.queued, null);
  assert.equal(state.runningTurnId, null);
  assert.equal(turnActive(state), false, "Send is usable again");
  assert.deepEqual(state.turns.map((t) => [t.status, t.start]), [["cancelled", null]]);
  // the `turn` of another turn does not clear this one's wait
  const other = reduceAll(initialState(), [
    ev(1, "queued", { position: 1 }),
    { ...ev(2, "turn", { status: "failed" }), turn_id: "another" },
  ]);
  assert.deepEqual(other.queued, { turnId: T, position: 1 });
  assert.equal(reduce(initialState(), ev(1, "queued", { position: "x" })).queued.position, null);
});

test("too_many_turns and rate_limited refuse the pending message; the notice keeps the wait", () => {
  const pending = reduce(initialState(), { type: "client/pending", client_message_id: "c-1", content: "hello" });
  const refused = reduce(pending, { type: "error", session_id: "s", timestamp: at(0), error: "Too many turns: 30 a minute.", code: "too_many_turns", retry_after_ms: 12000 });
  assert.deepEqual(refused.pending, []);
  assert.deepEqual(refused.notice, { code: "too_many_turns", message: "Too many turns: 30 a minute.", retryAfterMs: 12000, receivedAt: Date.parse(at(0)), refusedMessage: true });
  const fast = reduce(pending, { type: "error", session_id: "s", error: "Slow down.", code: "rate_limited" });
  assert.deepEqual(fast.pending, []);
  assert.equal(fast.notice.refusedMessage, true);
  const nothing = reduce(initialState(), { type: "error", session_id: "s", error: "Slow down.", code: "rate_limited", retry_after_ms: -5 });
  assert.equal(nothing.notice.refusedMessage, false);
  assert.equal(nothing.notice.retryAfterMs, null);
  const unstored = reduce(pending, { type: "error", session_id: "s", error: "Cannot store it.", code: "store_unavailable" });
  assert.deepEqual(unstored.pending, [], "a message the store could not take is offered again");
  assert.equal(unstored.notice.refusedMessage, true);
  const other = reduce(pending, { type: "error", session_id: "s", error: "bad", code: "invalid_message" });
  assert.equal(other.pending.length, 1, "other connection errors leave the message waiting");
  // the accepted message clears the notice
  assert.equal(reduce(refused, ev(1, "user", { content: "hello", client_message_id: "c-2" })).notice, null);
});

test("too_many_connections is a notice until a socket is taken again", () => {
  let state = reduce(initialState(), { type: "error", session_id: "s", error: "Too many open connections.", code: "too_many_connections" });
  assert.equal(state.notice.code, "too_many_connections");
  state = reduce(state, { type: "connection", latest_seq: 0, server_version: "0.1.0" });
  assert.equal(state.notice, null);
  const busy = reduce(initialState(), { type: "error", error: "busy", code: "busy" });
  const connected = reduce(busy, { type: "connection", latest_seq: null });
  assert.equal(connected, busy, "other notices stay; nothing changed");
});

test("shutting_down keeps the pending message and says it will be sent again", () => {
  let state = reduce(initialState(), { type: "client/pending", client_message_id: "c-1", content: "hello" });
  state = reduce(state, { type: "error", session_id: "s", error: "The server is shutting down.", code: "shutting_down" });
  assert.deepEqual(state.pending, [{ clientMessageId: "c-1", content: "hello" }]);
  assert.equal(state.notice.code, "shutting_down");
  assert.equal(state.notice.keptMessage, true);
  assert.equal(state.notice.refusedMessage, false);
  state = reduce(state, { type: "connection", latest_seq: 0 });
  assert.equal(state.notice.code, "shutting_down", "still shown until the message is taken");
  state = reduce(state, ev(1, "user", { content: "hello", client_message_id: "c-1" }));
  assert.deepEqual(state.pending, []);
  assert.equal(state.notice, null);
  // With nothing pending it is only the server's words.
  const idle = reduce(initialState(), { type: "error", error: "The server is shutting down.", code: "shutting_down" });
  assert.equal(idle.notice.keptMessage, undefined);
});
