import type { PriceTick } from '../bus/bus.messages';

/**
 * The latest known quote per symbol (memory, and Redis when REDIS_URL is set,
 * falling back to the assets table). Serves snapshots on subscribe and the
 * status endpoint. Implemented in PriceFeedModule (LatestPriceCache).
 */
export abstract class LatestPriceSource {
  abstract get(symbol: string): Promise<PriceTick | null>;
  abstract getMany(symbols: string[]): Promise<Map<string, PriceTick>>;

  /** Loads the stored prices into memory ahead of the first subscribes; resolves with how many. None to load by default. */
  warm(): Promise<number> {
    return Promise.resolve(0);
  }

  /**
   * Milliseconds after which a quote counts as stale (a few update intervals).
   * Implementations set it from REALTIME_UPDATE_INTERVAL.
   */
  protected staleAfterMs = 90_000;

  /** True when the quote is older (by its `as_of`) than a few update intervals: no vendor has refreshed it. */
  isStale(tick: PriceTick, now: number = Date.now()): boolean {
    const t = Date.parse(tick.as_of);
    return !Number.isFinite(t) || now - t > this.staleAfterMs;
  }
}
