import type { PriceTick } from '../../bus/bus.messages';
import { D, toNumber } from '../../common/decimal';
import type { AssetUpdateData, MarketState } from '../protocol/server-messages';

const num = (s: string | null | undefined): number | null => {
  if (s === null || s === undefined) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
};

/** Decimal strings with at most 8 decimals whose value times 10^8 is a safe integer. */
const SCALED = /^(-?)(\d{1,16})(?:\.(\d{1,8}))?$/;
const PAD = '00000000';

/** The exact value of a decimal string in units of 10^-8, or null when it does not fit a safe integer. */
export function toScaled(s: string): number | null {
  const m = SCALED.exec(s);
  if (!m) return null;
  const v = Number(m[2] + (m[3] ?? '') + PAD.slice((m[3] ?? '').length));
  if (!Number.isSafeInteger(v)) return null;
  return m[1] === '-' ? -v : v;
}

/** round_half_up(a * 10^6 / b) for integers (a, b != 0), exact. */
function percentTimes1e4(a: number, b: number): number {
  const n = BigInt(a) * 1_000_000n;
  const d = BigInt(b);
  let q = n / d;
  const r = n % d;
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice >= (d < 0n ? -d : d)) q += n < 0n !== d < 0n ? -1n : 1n;
  return Number(q);
}

/**
 * change = price - previous_close (8 decimals) and change_percent =
 * change / previous_close * 100 (4 decimals, half-up), computed exactly:
 * on integers scaled by 10^8 when both fit (the common case, cheap on the
 * fan-out path), otherwise with decimal.js. Both give the same numbers.
 */
export function priceChange(price: string, previousClose: string | null | undefined): { change: number; changePercent: number } {
  if (previousClose === null || previousClose === undefined) return { change: 0, changePercent: 0 };
  const p = toScaled(price);
  const prev = toScaled(previousClose);
  if (p !== null && prev !== null) {
    if (prev === 0) return { change: 0, changePercent: 0 };
    const diff = p - prev; // exact: both are safe integers of the same scale
    return { change: diff / 1e8, changePercent: percentTimes1e4(diff, prev) / 1e4 };
  }
  return priceChangeDecimal(price, previousClose);
}

/** The same computation with decimal.js (any precision). */
export function priceChangeDecimal(price: string, previousClose: string): { change: number; changePercent: number } {
  const prev = new D(previousClose);
  if (prev.isZero()) return { change: 0, changePercent: 0 };
  const diff = new D(price).minus(prev);
  return { change: toNumber(diff, 8), changePercent: toNumber(diff.div(prev).times(100), 4) };
}

/**
 * PriceTick (decimal strings) -> the guide's asset_update data (JSON numbers).
 * Prices convert directly to the nearest double; change and change_percent are
 * computed exactly (see priceChange).
 */
export function toAssetUpdate(tick: PriceTick, seq: number, publishedAt: number, marketState: MarketState): AssetUpdateData {
  const { change, changePercent } = priceChange(tick.price, tick.previous_close);
  return {
    symbol: tick.symbol,
    price: Number(tick.price),
    change,
    change_percent: changePercent,
    volume: num(tick.volume),
    high: num(tick.high),
    low: num(tick.low),
    previous_close: num(tick.previous_close),
    as_of: tick.as_of,
    source: tick.source,
    seq,
    published_at: publishedAt,
    market_state: marketState,
  };
}

/** A bus tick worth fanning out: a catalog-style symbol and a finite price. */
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
