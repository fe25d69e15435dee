import { test } from "node:test";
import assert from "node:assert/strict";
import { absoluteTime, relativeTime, toTime } from "../public/lib/relative-time.js";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const before = (ms) => new Date(NOW - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const utc = { timeZone: "UTC" };

test("seconds, minutes and hours ago", () => {
  assert.equal(relativeTime(before(0), NOW, utc), "just now");
  assert.equal(relativeTime(before(44 * S), NOW, utc), "just now");
  assert.equal(relativeTime(before(-5 * M), NOW, utc), "just now", "a clock a little ahead");
  assert.equal(relativeTime(before(45 * S), NOW, utc), "1 minute ago");
  assert.equal(relativeTime(before(5 * M), NOW, utc), "5 minutes ago");
  assert.equal(relativeTime(before(44 * M), NOW, utc), "44 minutes ago");
  assert.equal(relativeTime(before(45 * M), NOW, utc), "1 hour ago");
  assert.equal(relativeTime(before(3 * H + 10 * M), NOW, utc), "3 hours ago");
});

test("days go by the calendar, older ones are dates", () => {
  const late = Date.parse("2026-11-25T23:30:00Z");
  assert.equal(relativeTime("2026-11-25T00:10:00Z", late, utc), "23 hours ago", "earlier the same day is not yesterday");
  assert.equal(relativeTime("2026-11-24T13:00:00Z", NOW, utc), "yesterday", "23 hours ago, on the day before");
  assert.equal(relativeTime("2026-11-24T09:00:00Z", NOW, utc), "yesterday");
  assert.equal(relativeTime("2026-11-22T09:00:00Z", NOW, utc), "3 days ago");
  assert.equal(relativeTime("2026-11-19T09:00:00Z", NOW, utc), "6 days ago");
  assert.equal(relativeTime("2026-11-18T09:00:00Z", NOW, utc), "Nov 18");
  assert.equal(relativeTime("2025-03-04T09:00:00Z", NOW, utc), "Mar 4, 2025");
  // The reader's calendar: 26.5 hours before 01:30 on the 26th in Tokyo was 23:00 on the 24th there.
  const then = "2026-11-24T14:00:00Z";
  const now = Date.parse("2026-11-25T16:30:00Z");
  assert.equal(relativeTime(then, now, { timeZone: "Asia/Tokyo" }), "2 days ago");
  assert.equal(relativeTime(then, now, utc), "yesterday");
});

test("what is not a time gives nothing", () => {
  assert.equal(relativeTime("not a time", NOW), "");
  assert.equal(relativeTime(null, NOW), "");
  assert.equal(relativeTime(before(M), "nope"), "");
  assert.equal(toTime(new Date(NaN)), null);
  assert.equal(toTime(Infinity), null);
  assert.equal(toTime(new Date(NOW)), NOW);
  assert.equal(absoluteTime("2026-11-25T09:12:03.123Z", utc), "Nov 25, 2026, 09:12:03");
  assert.equal(absoluteTime(undefined), "");
});
