import { formatFixed8, percentOf, toFixed8 } from '../portfolios/valuation/valuation.math';
import { Asset } from './entities/asset.entity';
import type { PriceHistory } from './entities/price-history.entity';
import type { AssetJson, HistoryPointJson } from '../common/api-types';

/** The REST shapes live in src/common/api-types.ts (shared with the client and the pages). */
export type { AssetJson, HistoryPointJson } from '../common/api-types';

export function toAssetJson(a: Asset): AssetJson {
  const price = toFixed8(a.currentPrice);
  const prev = toFixed8(a.previousClose);
  const change = price !== null && prev !== null ? price - prev : null;
  return {
    symbol: a.symbol,
    name: a.name,
    asset_type: a.assetType,
    currency: a.currency,
    exchange: a.exchange,
    current_price: a.currentPrice,
    previous_close: a.previousClose,
    day_high: a.dayHigh,
    day_low: a.dayLow,
    volume: a.volume,
    last_updated: a.lastUpdated ? a.lastUpdated.toISOString() : null,
    source: a.source,
    change: change === null ? null : formatFixed8(change),
    change_percent: change === null ? null : percentOf(change, prev!),
  };
}

export function toHistoryPointJson(h: PriceHistory): HistoryPointJson {
  return { timestamp: h.timestamp.toISOString(), open: h.open, high: h.high, low: h.low, close: h.close, volume: h.volume };
}
