import { Injectable, Logger } from '@nestjs/common';
import { D, Dec } from '../../common/decimal';
import { AppConfig } from '../../config/app-config';
import { feedMetrics } from '../metrics';
import type { RawQuote } from '../providers/price-provider.interface';

/** A quote that passed validation: exact decimal strings, one per symbol. */
export interface ValidQuote {
  symbol: string;
  price: string;
  previous_close: string | null;
  high: string | null;
  low: string | null;
  volume: string | null;
  as_of: Date;
  source: string;
}

export type RejectReason =
  | 'malformed'
  | 'not_finite'
  | 'not_positive'
  | 'negative_volume'
  | 'high_below_low'
  | 'future_timestamp'
  | 'out_of_order'
  | 'jump_unconfirmed';

export interface RejectedQuote {
  symbol: string;
  reason: RejectReason;
  detail: string;
  source: string;
}

/** What is stored for a symbol now (price and the time of that price). */
export interface KnownPrice {
  price: string | null;
  asOf: Date | null;
}

export interface ValidationResult {
  accepted: ValidQuote[];
  rejected: RejectedQuote[];
  /** Symbols whose quote repeats the stored one exactly (nothing to store). */
  unchanged: string[];
}

/** Clock skew tolerated between a vendor and us before a quote counts as "from the future". */
export const FUTURE_TOLERANCE_MS = 5_000;

/** Column limits: prices (and previous close, day high/low) are numeric(24,8), volumes numeric(28,8). */
const PRICE_MAX = new D('1e16');
const VOLUME_MAX = new D('1e20');

class Invalid extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

function decimal(field: string, v: number | string | null | undefined, required: boolean): Dec | null {
  if (v === null || v === undefined || v === '') {
    if (required) throw new Invalid('malformed', `${field} missing`);
    return null;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Invalid('not_finite', `${field} is ${v}`);
    return bounded(field, new D(String(v)), String(v));
  }
  if (typeof v !== 'string') throw new Invalid('malformed', `${field} is not a number`);
  const t = v.trim();
  if (/^[+-]?(nan|infinity|inf)$/i.test(t)) throw new Invalid('not_finite', `${field} is ${t}`);
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new Invalid('malformed', `${field} "${t.slice(0, 30)}" is not a number`);
  const d = new D(t);
  if (!d.isFinite()) throw new Invalid('not_finite', `${field} is ${t}`);
  return bounded(field, d, t);
}

/** No column holds more than 20 integer digits or keeps anything below 1e-8: far beyond that is not a price (and would print as a huge string). */
function bounded(field: string, d: Dec, shown: string): Dec {
  if (!d.isZero() && (d.e > 100 || d.e < -100)) throw new Invalid('malformed', `${field} "${shown.slice(0, 30)}" out of range`);
  return d;
}

/** Positive, and still positive once stored with 8 decimals (a price of 0.000000001 would be stored as 0). */
const positive = (d: Dec): boolean => d.gt(0) && !d.toDecimalPlaces(8).isZero();

const str = (d: Dec | null): string | null => (d === null ? null : d.toDecimalPlaces(8).toFixed());

/*
 * Fast path. Almost every quote carries plain decimals ("189.98", 48794366) with at most 8
 * decimals. For those, what decimal.js would print (toDecimalPlaces(8).toFixed()) is the
 * digits without leading zeros and without trailing fraction zeros, and comparing two such
 * canonical strings needs no arithmetic. Anything else (a sign, an exponent, whitespace, more
 * than 8 decimals, a value the checks reject) goes through the decimal.js path, which stays
 * the reference: test/unit/price-feed/quote-validator-fast-path.spec.ts compares the two.
 */

/** Canonical non-negative decimal, as Decimal#toFixed prints one: "0", "12", "0.5", "12.0001". */
const CANONICAL = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;
const PLAIN = /^0*(\d+)(?:\.(\d*))?$/;
/** Marks "not for the fast path" (null is a legitimate absent value). */
const SLOW = undefined;

/** Canonical string of a plain non-negative decimal with at most 8 decimals; '' when absent; undefined otherwise. */
function fastPlain(v: number | string | null | undefined): string | undefined {
  if (v === null || v === undefined || v === '') return '';
  const t = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : SLOW;
  if (t === undefined) return SLOW;
  const m = PLAIN.exec(t);
  if (!m) return SLOW;
  const int = m[1];
  let frac = m[2];
  if (frac === undefined || frac === '') return int;
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  if (end > 8) return SLOW;
  if (end === 0) return int;
  if (end < frac.length) frac = frac.slice(0, end);
  return `${int}.${frac}`;
}

/** Digits before the point of a canonical string. */
const intDigits = (c: string): number => {
  const dot = c.indexOf('.');
  return dot < 0 ? c.length : dot;
};

/** Compares two canonical strings numerically. */
function cmpCanonical(a: string, b: string): number {
  const ia = intDigits(a);
  const ib = intDigits(b);
  if (ia !== ib) return ia < ib ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1; // same number of integer digits: digit order is numeric order
}

/** Numeric comparison of two decimal strings: canonical ones without arithmetic, others through decimal.js. */
function cmpDecimal(a: string, b: string, fast: boolean): number {
  if (fast && CANONICAL.test(a) && CANONICAL.test(b)) return cmpCanonical(a, b);
  return new D(a).comparedTo(b);
}

/**
 * Checks quotes before anything is stored or sent: finite numbers, price > 0,
 * high ≥ low, no timestamp in the future, no older quote over a newer one,
 * and a jump above PRICE_JUMP_THRESHOLD only when the next fetch confirms it.
 * Duplicates of a symbol in one batch are merged (newest wins, high/low widen).
 * Rejections are logged and counted (price_feed_quotes_rejected_total).
 */
@Injectable()
export class QuoteValidator {
  private readonly logger = new Logger('QuoteValidator');
  /** Prices that jumped, waiting for the next fetch to confirm them. */
  private readonly pendingJumps = new Map<string, Dec>();
  private readonly threshold: Dec;
  private readonly thresholdNumber: number;
  private readonly jumpCheck: boolean;
  /** false sends every quote through decimal.js (the reference the fast path must equal; tests compare them). */
  fastPath = true;

  constructor(config: AppConfig) {
    this.threshold = new D(config.PRICE_JUMP_THRESHOLD);
    this.thresholdNumber = this.threshold.toNumber();
    this.jumpCheck = this.threshold.gt(0);
  }

  validate(quotes: RawQuote[], known: Map<string, KnownPrice>, now: number = Date.now()): ValidationResult {
    const rejected: RejectedQuote[] = [];
    const unchanged: string[] = [];
    const bySymbol = new Map<string, ValidQuote>();
    const reject = (q: { symbol: string; source: string }, reason: RejectReason, detail: string) => {
      rejected.push({ symbol: q.symbol, reason, detail, source: q.source });
    };

    // 1. Each quote on its own.
    for (const q of quotes) {
      let v: ValidQuote;
      try {
        v = this.check(q, now);
      } catch (err) {
        if (err instanceof Invalid) reject({ symbol: String(q?.symbol), source: String(q?.source) }, err.reason, err.message);
        else throw err;
        continue;
      }
      // 2. Merge duplicates: newest quote wins, intraday range widens.
      const prev = bySymbol.get(v.symbol);
      bySymbol.set(v.symbol, prev ? merge(prev, v, this.fastPath) : v);
    }

    // 3. Against what is stored: order, repeats, jumps.
    const accepted: ValidQuote[] = [];
    for (const v of bySymbol.values()) {
      const k = known.get(v.symbol);
      const asOf = v.as_of.getTime();
      if (k?.asOf) {
        const last = k.asOf.getTime();
        if (asOf < last) {
          reject(v, 'out_of_order', `quote of ${v.as_of.toISOString()} is older than the stored ${k.asOf.toISOString()}`);
          continue;
        }
        if (asOf === last && k.price !== null && cmpDecimal(k.price, v.price, this.fastPath) === 0) {
          unchanged.push(v.symbol);
          continue;
        }
      }
      if (k?.price && this.jumpCheck && !this.clearlyNoJump(k.price, v.price)) {
        const lastPrice = new D(k.price);
        const price = new D(v.price);
        const move = price.minus(lastPrice).abs().div(lastPrice);
        if (move.gt(this.threshold)) {
          const pending = this.pendingJumps.get(v.symbol);
          const confirms = pending && price.minus(pending).abs().div(pending).lte(this.threshold);
          if (!confirms) {
            this.pendingJumps.set(v.symbol, price);
            reject(v, 'jump_unconfirmed', `${k.price} → ${v.price} (${move.mul(100).toDecimalPlaces(1).toFixed()}%) awaits confirmation by the next fetch`);
            continue;
          }
          this.logger.log(`${v.symbol}: jump ${k.price} → ${v.price} confirmed`);
        }
      }
      this.pendingJumps.delete(v.symbol);
      accepted.push(v);
    }

    for (const r of rejected) {
      feedMetrics.quotesRejected.inc({ reason: r.reason, source: r.source });
      this.logger.warn(`Rejected ${r.source} quote for ${r.symbol} (${r.reason}): ${r.detail}`);
    }
    const bySource = new Map<string, number>();
    for (const a of accepted) bySource.set(a.source, (bySource.get(a.source) ?? 0) + 1);
    for (const [source, n] of bySource) feedMetrics.quotesAccepted.inc({ source }, n);
    return { accepted, rejected, unchanged };
  }

  /**
   * True when the move from `last` to `price` is certainly within the threshold. In doubles the
   * relative move is within about 1e-15 of the exact one (both strings are read correctly
   * rounded), so a margin of 1e-12 decides it the way decimal.js would; closer calls, and
   * anything unusual, go to the decimal.js check.
   */
  private clearlyNoJump(last: string, price: string): boolean {
    if (!this.fastPath || last === '0' || !CANONICAL.test(last) || !CANONICAL.test(price)) return false;
    const l = Number(last);
    const p = Number(price);
    if (!(l >= 1e-100 && p >= 1e-100 && l < 1e300 && p < 1e300)) return false; // full double precision only
    const move = Math.abs(p - l) / l;
    return move < this.thresholdNumber - 1e-12 * (1 + move + this.thresholdNumber);
  }

  private check(q: RawQuote, now: number): ValidQuote {
    return (this.fastPath && this.checkFast(q, now)) || this.checkDecimal(q, now);
  }

  /** The common case without decimal.js; undefined sends the quote to checkDecimal (which also words every rejection). */
  private checkFast(q: RawQuote, now: number): ValidQuote | undefined {
    if (!q || typeof q.symbol !== 'string' || !q.symbol) return SLOW;
    const price = fastPlain(q.price);
    if (!price || price === '0' || intDigits(price) > 16) return SLOW; // required, > 0, < 1e16
    // Present ones: > 0 and < 1e16, like the price.
    const previous = fastPlain(q.previous_close);
    if (previous === SLOW || previous === '0' || intDigits(previous) > 16) return SLOW;
    const high = fastPlain(q.high);
    if (high === SLOW || high === '0' || intDigits(high) > 16) return SLOW;
    const low = fastPlain(q.low);
    if (low === SLOW || low === '0' || intDigits(low) > 16) return SLOW;
    if (high && low && cmpCanonical(high, low) < 0) return SLOW;
    const volume = fastPlain(q.volume);
    if (volume === SLOW || (volume && intDigits(volume) > 20)) return SLOW; // < 1e20
    if (!(q.as_of instanceof Date)) return SLOW;
    const at = q.as_of.getTime();
    if (!Number.isFinite(at) || at > now + FUTURE_TOLERANCE_MS) return SLOW;
    return {
      symbol: q.symbol.trim().toUpperCase(),
      price,
      previous_close: previous || null,
      high: high ? (cmpCanonical(high, price) >= 0 ? high : price) : null,
      low: low ? (cmpCanonical(low, price) <= 0 ? low : price) : null,
      volume: volume || null,
      as_of: q.as_of,
      source: q.source,
    };
  }

  /** The reference check, in decimal.js. */
  private checkDecimal(q: RawQuote, now: number): ValidQuote {
    if (!q || typeof q.symbol !== 'string' || !q.symbol) throw new Invalid('malformed', 'symbol missing');
    const price = decimal('price', q.price, true)!;
    if (!positive(price)) throw new Invalid('not_positive', `price is ${price.toFixed()}`);
    if (price.gte(PRICE_MAX)) throw new Invalid('malformed', `price ${price.toFixed()} out of range`);
    const previous = decimal('previous_close', q.previous_close, false);
    if (previous && !positive(previous)) throw new Invalid('not_positive', `previous_close is ${previous.toFixed()}`);
    if (previous && previous.gte(PRICE_MAX)) throw new Invalid('malformed', `previous_close ${previous.toFixed()} out of range`);
    const high = decimal('high', q.high, false);
    const low = decimal('low', q.low, false);
    if ((high && !positive(high)) || (low && !positive(low))) throw new Invalid('not_positive', `high/low not positive (${high?.toFixed()}/${low?.toFixed()})`);
    if ((high && high.gte(PRICE_MAX)) || (low && low.gte(PRICE_MAX))) throw new Invalid('malformed', `high/low out of range (${high?.toFixed()}/${low?.toFixed()})`);
    if (high && low && high.lt(low)) throw new Invalid('high_below_low', `high ${high.toFixed()} < low ${low.toFixed()}`);
    const volume = decimal('volume', q.volume, false);
    if (volume && volume.lt(0)) throw new Invalid('negative_volume', `volume is ${volume.toFixed()}`);
    if (volume && volume.gte(VOLUME_MAX)) throw new Invalid('malformed', `volume ${volume.toFixed()} out of range`);
    if (!(q.as_of instanceof Date) || !Number.isFinite(q.as_of.getTime())) throw new Invalid('malformed', 'timestamp missing or invalid');
    if (q.as_of.getTime() > now + FUTURE_TOLERANCE_MS) throw new Invalid('future_timestamp', `timestamp ${q.as_of.toISOString()} is in the future`);
    // The day's range must contain the price: widen it when the vendor's range lags its last trade.
    const hi = high ? D.max(high, price) : null;
    const lo = low ? D.min(low, price) : null;
    return {
      symbol: q.symbol.trim().toUpperCase(),
      price: str(price)!,
      previous_close: str(previous),
      high: str(hi),
      low: str(lo),
      volume: str(volume),
      as_of: q.as_of,
      source: q.source,
    };
  }
}

function merge(a: ValidQuote, b: ValidQuote, fast: boolean): ValidQuote {
  const [older, newer] = a.as_of.getTime() <= b.as_of.getTime() ? [a, b] : [b, a];
  const pick = (x: string | null, y: string | null, f: (p: Dec, q: Dec) => Dec, sign: number) => {
    if (!x || !y) return x ?? y;
    // Both canonical (every checked quote's numbers are): the larger/smaller one is printed as it is.
    if (fast && CANONICAL.test(x) && CANONICAL.test(y)) return Math.sign(cmpCanonical(x, y)) === -sign ? y : x;
    return f(new D(x), new D(y)).toFixed();
  };
  return {
    ...newer,
    high: pick(newer.high, older.high, (p, q) => D.max(p, q), 1),
    low: pick(newer.low, older.low, (p, q) => D.min(p, q), -1),
    volume: pick(newer.volume, older.volume, (p, q) => D.max(p, q), 1),
    previous_close: newer.previous_close ?? older.previous_close,
  };
}
