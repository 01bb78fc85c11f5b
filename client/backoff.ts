/**
 * Reconnect delays: exponential growth from `initialDelayMs` by `factor`,
 * capped at `maxDelayMs`, with a random jitter that spreads clients out so a
 * restarted server is not hit by every browser in the same millisecond.
 */
export interface BackoffOptions {
  /** Delay before the first retry (ms). */
  initialDelayMs: number;
  /** Upper bound of any delay (ms). */
  maxDelayMs: number;
  /** Growth per failed attempt (>= 1). */
  factor: number;
  /**
   * Share of the delay that is random, 0..1: the delay is drawn uniformly from
   * `[base * (1 - jitter), base]`. 0 = no jitter, 1 = "full jitter".
   */
  jitter: number;
  /** Give up (state `offline`) after this many failed attempts in a row; Infinity = never. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  factor: 2,
  jitter: 0.5,
  maxAttempts: Number.POSITIVE_INFINITY,
});

/** Fills in defaults and rejects nonsense (negative delays, factor < 1, jitter outside 0..1). */
export function resolveBackoff(partial: Partial<BackoffOptions> = {}): BackoffOptions {
  const o: BackoffOptions = { ...DEFAULT_BACKOFF, ...partial };
  if (!(o.initialDelayMs >= 0) || !Number.isFinite(o.initialDelayMs)) throw new RangeError('backoff.initialDelayMs must be a finite number >= 0');
  if (!(o.maxDelayMs >= o.initialDelayMs) || !Number.isFinite(o.maxDelayMs))
    throw new RangeError('backoff.maxDelayMs must be a finite number >= initialDelayMs');
  if (!(o.factor >= 1) || !Number.isFinite(o.factor)) throw new RangeError('backoff.factor must be a finite number >= 1');
  if (!(o.jitter >= 0 && o.jitter <= 1)) throw new RangeError('backoff.jitter must be between 0 and 1');
  if (!(o.maxAttempts >= 1)) throw new RangeError('backoff.maxAttempts must be >= 1');
  return o;
}

/** The capped exponential delay before retry number `attempt` (0-based), without jitter. */
export function baseDelay(attempt: number, o: BackoffOptions): number {
  const n = Math.max(0, Math.floor(attempt));
  // factor^n overflows to Infinity for large n; Math.min keeps the cap.
  return Math.min(o.maxDelayMs, o.initialDelayMs * Math.pow(o.factor, n));
}

/**
 * The delay before retry number `attempt` (0-based) with jitter applied.
 * `random` returns a number in [0, 1) (Math.random by default; tests pass their own).
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = baseDelay(attempt, o);
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (1 - o.jitter * r));
}
