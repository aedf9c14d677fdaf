/** How long to wait between reconnect attempts. */
export interface BackoffPolicy {
  /** Upper bound of the first delay, in milliseconds. */
  readonly initialDelayMs: number;
  /** No delay exceeds this, in milliseconds. */
  readonly maxDelayMs: number;
}

/**
 * Full-jitter exponential backoff: a uniformly random delay between 0 and
 * `min(maxDelayMs, initialDelayMs * 2^attempt)`. Spreading clients over the whole window (rather than
 * adding a little jitter to a fixed delay) keeps a fleet of viewers from reconnecting in waves after
 * an outage. `attempt` counts from 0; `random` returns a number in [0, 1).
 */
export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  // 2^attempt overflows to Infinity for huge attempts; Math.min keeps the ceiling finite.
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}
