import { test } from "node:test";
import assert from "node:assert/strict";
import { KEEPING_CODES, KEPT_TEXT, REFUSING_CODES, noticeText, queuedText, retryAfterOf, waitText } from "../public/lib/errors.js";

const clock = (ms) => new Date(ms).toISOString().slice(11, 19); // a fixed format for the tests

test("the codes that refuse a message", () => {
  assert.deepEqual([...REFUSING_CODES].sort(), ["busy", "rate_limited", "store_unavailable", "too_many_turns"]);
});

test("store_unavailable: the message is back in the box, to be sent again in a moment", () => {
  const notice = { code: "store_unavailable", message: "The server cannot store messages right now, so this one was not sent: send it again in a moment.", retryAfterMs: null, refusedMessage: true };
  assert.equal(noticeText(notice),
    "The server cannot store messages right now, so this one was not sent: send it again in a moment. Your message was not sent: it is back in the message box. Send it again in a moment.");
});

test("retry_after_ms is read only when it is a sane number", () => {
  assert.equal(retryAfterOf({ retry_after_ms: 12000 }), 12000);
  assert.equal(retryAfterOf({ retry_after_ms: 0 }), 0);
  for (const bad of [undefined, null, "12", -1, Infinity, NaN]) assert.equal(retryAfterOf({ retry_after_ms: bad }), null, String(bad));
  assert.equal(retryAfterOf(null), null);
});

test("waits in words", () => {
  assert.equal(waitText(0), "1 s");
  assert.equal(waitText(12000), "12 s");
  assert.equal(waitText(12001), "13 s");
  assert.equal(waitText(60000), "1 min");
  assert.equal(waitText(90000), "1 min 30 s");
});

test("too_many_turns: the server's words, the text is back, and when to send it again", () => {
  const notice = { code: "too_many_turns", message: "Too many turns: at most 30 a minute.", retryAfterMs: 12000, receivedAt: Date.UTC(2026, 10, 25, 9, 12, 4), refusedMessage: true };
  assert.equal(noticeText(notice, clock),
    "Too many turns: at most 30 a minute. Your message was not sent: it is back in the message box. You can send it again in 12 s, at 09:12:16.");
  assert.equal(noticeText({ ...notice, receivedAt: null }, clock),
    "Too many turns: at most 30 a minute. Your message was not sent: it is back in the message box. You can send it again in 12 s.");
  assert.match(noticeText(notice), /at \d/, "a local clock time by default");
});

test("rate_limited, busy and others", () => {
  assert.equal(noticeText({ code: "rate_limited", message: "Too many frames.", retryAfterMs: null, refusedMessage: true }),
    "Too many frames. If it was a message, it is back in the message box.");
  assert.equal(noticeText({ code: "rate_limited", message: "Too many frames.", retryAfterMs: 2000, receivedAt: null, refusedMessage: false }),
    "Too many frames. You can try again in 2 s.");
  assert.equal(noticeText({ code: "busy", message: "A turn is running.", retryAfterMs: null, refusedMessage: true }),
    "A turn is running. Your message was not sent: it is back in the message box.");
  assert.equal(noticeText({ code: "invalid_message", message: "", retryAfterMs: null }), "The server refused the last request.");
  assert.equal(noticeText(null), "");
});

test("a queued turn's status: position 1 is next", () => {
  assert.equal(queuedText(1), "Waiting for a free slot on the server: your turn is next.");
  assert.equal(queuedText(2), "Waiting for a free slot on the server: 1 ahead of yours.");
  assert.equal(queuedText(5), "Waiting for a free slot on the server: 4 ahead of yours.");
  for (const odd of [0, -1, null, undefined, NaN]) assert.equal(queuedText(odd), "Waiting for a free slot on the server.");
});

test("shutting_down keeps the message instead of giving it back", () => {
  assert.deepEqual([...KEEPING_CODES], ["shutting_down"]);
  assert.ok(!REFUSING_CODES.has("shutting_down"));
  assert.equal(noticeText({ code: "shutting_down", message: "The server is shutting down.", retryAfterMs: null, keptMessage: true }), KEPT_TEXT);
  assert.match(KEPT_TEXT, /kept and will be sent/);
  assert.equal(noticeText({ code: "shutting_down", message: "The server is shutting down.", retryAfterMs: null }), "The server is shutting down.");
});
