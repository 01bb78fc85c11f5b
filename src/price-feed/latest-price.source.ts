import type { PriceTick } from '../bus/bus.messages';

/**
 * The latest known quote per symbol (memory, and Redis when REDIS_URL is set,
 * falling back to the assets table). Serves snapshots on subscribe and the
 * status endpoint. Implemented in PriceFeedModule.
 */
export abstract class LatestPriceSource {
  abstract get(symbol: string): Promise<PriceTick | null>;
  abstract getMany(symbols: string[]): Promise<Map<string, PriceTick>>;
}
