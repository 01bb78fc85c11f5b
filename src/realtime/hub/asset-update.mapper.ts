import type { PriceTick } from '../../bus/bus.messages';
import { D, toNumber } from '../../common/decimal';
import type { AssetUpdateData } from '../protocol/server-messages';

const num = (s: string | null | undefined): number | null => {
  if (s === null || s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

/**
 * PriceTick (decimal strings) -> the seed's asset_update data (JSON numbers).
 * Prices convert directly to the nearest double; change and change_percent are
 * computed in decimal and rounded (8 and 4 decimals).
 */
export function toAssetUpdate(tick: PriceTick, seq: number, publishedAt: number): AssetUpdateData {
  const prev = tick.previous_close;
  let change = 0;
  let changePercent = 0;
  if (prev !== null && prev !== undefined && Number(prev) !== 0) {
    const diff = new D(tick.price).minus(prev);
    change = toNumber(diff, 8);
    changePercent = toNumber(diff.div(prev).times(100), 4);
  }
  return {
    symbol: tick.symbol,
    price: Number(tick.price),
    change,
    change_percent: changePercent,
    volume: num(tick.volume),
    high: num(tick.high),
    low: num(tick.low),
    previous_close: num(prev),
    as_of: tick.as_of,
    source: tick.source,
    seq,
    published_at: publishedAt,
  };
}

/** A bus tick worth fanning out: a catalog-style symbol and a finite positive price. */
export function isUsableTick(t: unknown): t is PriceTick {
  if (!t || typeof t !== 'object') return false;
  const tick = t as PriceTick;
  return (
    typeof tick.symbol === 'string' &&
    tick.symbol.length > 0 &&
    tick.symbol.length <= 32 &&
    typeof tick.price === 'string' &&
    Number.isFinite(Number(tick.price)) &&
    typeof tick.as_of === 'string' &&
    typeof tick.source === 'string'
  );
}
