/**
 * Portfolio valuation arithmetic, shared by the REST API and the live engine.
 *
 * Exact fixed-point decimals on BigInt: quantities and prices are stored as
 * NUMERIC(…, 8) in PostgreSQL, so they are read as integers scaled by 10^8
 * ("fixed8"); a product of two of them is an integer scaled by 10^16
 * ("fixed16") and sums of products are exact — no float, no rounding, so
 * 0.1 + 0.2 is 0.3 and the engine's incremental totals equal a full recount
 * digit for digit. The only rounding anywhere is the documented one:
 * inputs with more than 8 decimals are rounded half away from zero (as
 * PostgreSQL's numeric does when storing them), and percentages are given
 * with 4 decimals, rounded half away from zero.
 *
 * Definitions (positions without a price count as 0 and make the result stale):
 *   total_value          = Σ quantity × price
 *   daily_change         = Σ quantity × (price − previous_close)
 *   daily_change_percent = daily_change / Σ quantity × previous_close × 100 (0 when that sum is 0)
 *   cost_basis           = Σ quantity × average_cost
 *   unrealized_gain      = Σ over priced positions of quantity × (price − average_cost)
 *   unrealized_gain_percent = unrealized_gain / cost basis of the priced positions × 100 (0 when 0)
 * A priced position without previous_close has no daily change (previous_close = price).
 */
import { D } from '../../common/decimal';
import { staleAfterMs } from '../../common/staleness';

/** Digits after the point of stored quantities and prices. */
const FIXED_SCALE = 8;
/** Digits after the point of percentages. */
const PERCENT_DECIMALS = 4;

const PERCENT_FACTOR = 100n * 10n ** BigInt(PERCENT_DECIMALS);
const SIMPLE = /^([+-]?)(\d+)(?:\.(\d*))?$/;
const EXPONENT = /^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d{1,4}$/;

/**
 * A decimal string or JSON number as an integer scaled by 10^8, rounded half
 * away from zero past 8 decimals. null/undefined give null. Throws on
 * anything that is not a finite decimal.
 */
export function toFixed8(v: string | number | null | undefined): bigint | null {
  if (v === null || v === undefined) return null;
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
    s = String(v); // shortest round-trip form: 0.1 -> "0.1"
  } else {
    s = v.trim();
  }
  let m = SIMPLE.exec(s);
  if (!m) {
    // Exponent forms ("1.5e-7", what String(1.5e-7) gives): decimal.js reads them exactly, then the plain form.
    if (!EXPONENT.test(s)) throw new RangeError(`not a decimal: ${JSON.stringify(v)}`);
    m = SIMPLE.exec(new D(s).toFixed(FIXED_SCALE, D.ROUND_HALF_UP))!;
  }
  const neg = m[1] === '-';
  const frac = m[3] ?? '';
  let mag = BigInt(m[2] + frac.slice(0, FIXED_SCALE).padEnd(FIXED_SCALE, '0'));
  if (frac.length > FIXED_SCALE && frac.charCodeAt(FIXED_SCALE) >= 53 /* '5' */) mag += 1n;
  return neg ? -mag : mag;
}

/** toFixed8 for a value that is always present (quantities). */
function requireFixed8(v: string | number): bigint {
  return toFixed8(v)!;
}

/** A scaled integer as a plain decimal string without trailing zeros ("-0.5", "7512.5", "0"). */
export function formatFixed(v: bigint, scale: number): string {
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString();
  if (scale === 0) return (neg ? '-' : '') + digits;
  const padded = digits.length <= scale ? '0'.repeat(scale - digits.length + 1) + digits : digits;
  const int = padded.slice(0, padded.length - scale);
  let end = padded.length;
  while (end > int.length && padded.charCodeAt(end - 1) === 48 /* '0' */) end--;
  const frac = padded.slice(int.length, end);
  if (!frac && int === '0') return '0';
  return (neg ? '-' : '') + int + (frac ? '.' + frac : '');
}

/** fixed16 (product of two fixed8) as a decimal string. */
export const formatFixed16 = (v: bigint): string => formatFixed(v, 2 * FIXED_SCALE);
export const formatFixed8 = (v: bigint): string => formatFixed(v, FIXED_SCALE);

/**
 * part / whole × 100 with 4 decimals, rounded half away from zero; "0" when
 * `whole` is 0 (never NaN or Infinity). Both arguments share one scale.
 */
export function percentOf(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0';
  const num = part * PERCENT_FACTOR;
  let q = num / whole;
  const r = num % whole;
  const absR = r < 0n ? -r : r;
  const absW = whole < 0n ? -whole : whole;
  if (2n * absR >= absW) q += num < 0n !== whole < 0n ? -1n : 1n;
  return formatFixed(q, PERCENT_DECIMALS);
}

/** One position as read from the database (NUMERIC columns arrive as strings). */
export interface PositionInput {
  quantity: string | number;
  price: string | number | null;
  previous_close: string | number | null;
  average_cost?: string | number | null;
}

export interface PositionFigures {
  /** quantity × price; "0" without a price. */
  market_value: string;
  /** quantity × (price − previous_close); "0" without a price. */
  daily_change: string;
  daily_change_percent: string;
  /** quantity × average_cost. */
  cost_basis: string;
  /** market_value − cost_basis; null without a price. */
  unrealized_gain: string | null;
  unrealized_gain_percent: string | null;
  priced: boolean;
}

export interface PortfolioFigures {
  total_value: string;
  /** Σ quantity × previous_close (the base of daily_change_percent). */
  previous_value: string;
  daily_change: string;
  daily_change_percent: string;
  cost_basis: string;
  unrealized_gain: string;
  unrealized_gain_percent: string;
  /** Positions without a price (counted as 0; the valuation is then stale). */
  unpriced_positions: number;
  positions: PositionFigures[];
}

/**
 * The effective (price, previous_close) pair of a symbol as fixed8: an
 * unpriced symbol counts as (0, 0); a priced one without previous close as (p, p).
 */
export function effectivePrices(price: bigint | null, previousClose: bigint | null): [bigint, bigint] {
  if (price === null) return [0n, 0n];
  return [price, previousClose ?? price];
}

/** Values a portfolio from its positions (exact; see the module comment). */
export function valuePortfolio(positions: readonly PositionInput[]): PortfolioFigures {
  let total = 0n;
  let previous = 0n;
  let cost = 0n;
  let pricedCost = 0n;
  let gain = 0n;
  let unpriced = 0;
  const out: PositionFigures[] = [];
  for (const pos of positions) {
    const q = requireFixed8(pos.quantity);
    const price = toFixed8(pos.price);
    const [p, pc] = effectivePrices(price, toFixed8(pos.previous_close));
    const c = q * (toFixed8(pos.average_cost) ?? 0n);
    const mv = q * p;
    const prev = q * pc;
    total += mv;
    previous += prev;
    cost += c;
    if (price === null) unpriced++;
    else {
      pricedCost += c;
      gain += mv - c;
    }
    out.push({
      market_value: formatFixed16(mv),
      daily_change: formatFixed16(mv - prev),
      daily_change_percent: percentOf(mv - prev, prev),
      cost_basis: formatFixed16(c),
      unrealized_gain: price === null ? null : formatFixed16(mv - c),
      unrealized_gain_percent: price === null ? null : percentOf(mv - c, c),
      priced: price !== null,
    });
  }
  return {
    total_value: formatFixed16(total),
    previous_value: formatFixed16(previous),
    daily_change: formatFixed16(total - previous),
    daily_change_percent: percentOf(total - previous, previous),
    cost_basis: formatFixed16(cost),
    unrealized_gain: formatFixed16(gain),
    unrealized_gain_percent: percentOf(gain, pricedCost),
    unpriced_positions: unpriced,
    positions: out,
  };
}

/** Is a price with this as-of time (ms since epoch, or null if never updated) stale at `now`? */
export function isPriceStale(asOfMs: number | null, nowMs: number, updateIntervalSeconds: number): boolean {
  return asOfMs === null || !Number.isFinite(asOfMs) || nowMs - asOfMs > staleAfterMs(updateIntervalSeconds);
}
