/**
 * When a price counts as stale: older than this many feed intervals (REALTIME_UPDATE_INTERVAL).
 * One rule for the live valuation's `stale` flag, the latest-price cache and the feed's
 * schedule check.
 */
export const STALE_AFTER_INTERVALS = 3;

/** Milliseconds after which a portfolio's price is stale: 3 × REALTIME_UPDATE_INTERVAL seconds. */
export function staleAfterMs(updateIntervalSeconds: number): number {
  return STALE_AFTER_INTERVALS * updateIntervalSeconds * 1000;
}

/**
 * Milliseconds after which a quote in the latest-price cache is stale: the same rule, never
 * under 5 s (a sub-second feed interval must not flag every quote between two runs).
 */
export function quoteStaleAfterMs(updateIntervalSeconds: number): number {
  return Math.max(5_000, staleAfterMs(updateIntervalSeconds));
}
