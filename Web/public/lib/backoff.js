// Reconnection delays: exponential backoff with jitter, so that many tabs dropped together do
// not come back in lockstep. The default (base 0.5 s, cap 30 s, full jitter) is for drops and
// restarts; a server that refused a socket for a connection limit gets the slower
// LIMIT_BACKOFF (2 s doubling to 60 s, never less than half of that: no hot loop).

export const BASE_MS = 500;
export const CAP_MS = 30_000;

/** For a socket refused with 4429 (too many connections): 1–2 s, 2–4 s, … up to 30–60 s. */
export const LIMIT_BACKOFF = Object.freeze({ base: 2_000, cap: 60_000, jitter: "equal" });

/**
 * The delay before reconnection attempt `attempt` (1 for the first retry), with ceiling
 * min(cap, base × 2^(attempt − 1)): with "full" jitter a uniformly random time between 0 and
 * the ceiling, with "equal" jitter between half the ceiling and the ceiling.
 */
export function backoffDelay(attempt, random = Math.random, base = BASE_MS, cap = CAP_MS, jitter = "full") {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  if (jitter === "equal") return Math.floor(ceiling / 2 + random() * (ceiling / 2));
  return Math.floor(random() * ceiling);
}

/** Counts attempts; `reset()` after a successful connection starts the schedule over. */
export class Backoff {
  #attempt = 0;
  #random;
  #base;
  #cap;
  #jitter;

  constructor({ random = Math.random, base = BASE_MS, cap = CAP_MS, jitter = "full" } = {}) {
    this.#random = random;
    this.#base = base;
    this.#cap = cap;
    this.#jitter = jitter;
  }

  get attempt() {
    return this.#attempt;
  }

  /** Counts one more attempt and returns how long to wait before it, in milliseconds. */
  next() {
    this.#attempt += 1;
    return backoffDelay(this.#attempt, this.#random, this.#base, this.#cap, this.#jitter);
  }

  reset() {
    this.#attempt = 0;
  }
}
