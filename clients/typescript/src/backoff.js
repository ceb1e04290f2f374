// @ts-check
/**
 * The waits between reconnection attempts: exponential with "equal jitter",
 * as the Rust client and the Redis backend wait. The wait before attempt `n`
 * (from one) is `first x 2^(n-1)`, capped at `max`, drawn between half and
 * all of it, so that many clients losing one server do not retry in step.
 * @module
 */

export class Backoff {
  /**
   * @param {number} first the first wait, in milliseconds
   * @param {number} max the longest wait, in milliseconds
   * @param {() => number} [random] a number in [0, 1) (tests pass their own)
   */
  constructor(first, max, random = Math.random) {
    this.first = first;
    this.max = Math.max(max, first);
    this.random = random;
    /** Attempts made so far (the number of the last one). */
    this.attempt = 0;
    /** Attempts made at once: they do not grow the waits. */
    this.atOnceAttempts = 0;
  }

  /** The wait before the next attempt, in milliseconds. */
  nextDelay() {
    this.attempt += 1;
    const grown = this.attempt - this.atOnceAttempts - 1;
    const full = Math.min(this.first * 2 ** Math.min(grown, 30), this.max);
    return full / 2 + (full / 2) * this.random();
  }

  /**
   * The wait before an attempt made at once (the server went away or
   * restarts on purpose): anywhere up to `within` ms, so that its clients do
   * not all come back in the same instant; later waits start from the first
   * one, as if this attempt had not been made.
   * @param {number} within
   */
  atOnce(within) {
    this.attempt += 1;
    this.atOnceAttempts += 1;
    return within * this.random();
  }
}
