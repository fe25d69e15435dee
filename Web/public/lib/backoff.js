// Reconnection delays: exponential backoff with full jitter (base 0.5 s, cap 30 s), so that
// many tabs dropped together do not come back in lockstep.

export const BASE_MS = 500;
export const CAP_MS = 30_000;

/**
 * The delay before reconnection attempt `attempt` (1 for the first retry): a uniformly random
 * time between 0 and min(cap, base × 2^(attempt − 1)).
 */
export function backoffDelay(attempt, random = Math.random, base = BASE_MS, cap = CAP_MS) {
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Counts attempts; `reset()` after a successful connection starts the schedule over. */
export class Backoff {
  #attempt = 0;
  #random;
  #base;
  #cap;

  constructor({ random = Math.random, base = BASE_MS, cap = CAP_MS } = {}) {
    this.#random = random;
    this.#base = base;
    this.#cap = cap;
  }

  get attempt() {
    return this.#attempt;
  }

  /** Counts one more attempt and returns how long to wait before it, in milliseconds. */
  next() {
    this.#attempt += 1;
    return backoffDelay(this.#attempt, this.#random, this.#base, this.#cap);
  }

  reset() {
    this.#attempt = 0;
  }
}
