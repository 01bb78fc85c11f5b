import { formatFixed8, percentOf, toFixed8 } from '../portfolios/valuation/valuation.math';
import { Asset } from './entities/asset.entity';
import type { PriceHistory } from './entities/price-history.entity';

/** An asset as the REST API shows it: snake_case, money as decimal strings. */
export interface AssetJson {
  symbol: string;
  name: string;
  asset_type: string;
  currency: string;
  exchange: string | null;
  current_price: string | null;
  previous_close: string | null;
  day_high: string | null;
  day_low: string | null;
  volume: string | null;
  last_updated: string | null;
  source: string | null;
  /** current_price − previous_close (null when either is unknown). */
  change: string | null;
  /** change / previous_close × 100, 4 decimals (null when unknown, "0" when previous_close is 0). */
  change_percent: string | null;
}

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

export interface HistoryPointJson {
  timestamp: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

export function toHistoryPointJson(h: PriceHistory): HistoryPointJson {
  return { timestamp: h.timestamp.toISOString(), open: h.open, high: h.high, low: h.low, close: h.close, volume: h.volume };
}
