import { test } from "node:test";
import assert from "node:assert/strict";
import { Backoff, backoffDelay, BASE_MS, CAP_MS, LIMIT_BACKOFF } from "../public/lib/backoff.js";

test("the ceiling doubles from 0.5 s and stops at 30 s", () => {
  const top = () => 0.999999;
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => backoffDelay(n, top));
  assert.deepEqual(ceilings, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);
  assert.equal(BASE_MS, 500);
  assert.equal(CAP_MS, 30_000);
});

test("full jitter: anywhere from zero to the ceiling", () => {
  assert.equal(backoffDelay(4, () => 0), 0);
  assert.equal(backoffDelay(4, () => 0.5), 2000);
  for (let i = 0; i < 200; i += 1) {
    const delay = backoffDelay(6);
    assert.ok(delay >= 0 && delay < 16_000);
  }
});

test("attempts count up and reset after a success", () => {
  const backoff = new Backoff({ random: () => 0.5 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [250, 500, 1000]);
  assert.equal(backoff.attempt, 3);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), 250);
});

test("a custom base and cap", () => {
  const backoff = new Backoff({ random: () => 0.5, base: 100, cap: 300 });
  assert.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [50, 100, 150, 150]);
});

test("the connection-limit schedule: 2 s doubling to 60 s, never under half the ceiling", () => {
  const low = new Backoff({ ...LIMIT_BACKOFF, random: () => 0 });
  const high = new Backoff({ ...LIMIT_BACKOFF, random: () => 0.999999 });
  const lows = Array.from({ length: 8 }, () => low.next());
  const highs = Array.from({ length: 8 }, () => high.next());
  assert.deepEqual(lows, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.deepEqual(highs, [1999, 3999, 7999, 15999, 31999, 59999, 59999, 59999]);
  for (let i = 0; i < 200; i += 1) {
    const delay = backoffDelay(3, Math.random, LIMIT_BACKOFF.base, LIMIT_BACKOFF.cap, LIMIT_BACKOFF.jitter);
    assert.ok(delay >= 4000 && delay < 8000, String(delay));
  }
});
