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
  'malformed' | 'not_finite' | 'not_positive' | 'negative_volume' | 'high_below_low' | 'future_timestamp' | 'out_of_order' | 'jump_unconfirmed';

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

/** Column limits: prices (and previous close, day high/low) are numeric(24,8), volumes numeric(28,8): below 1e16 and 1e20. */
const PRICE_INT_DIGITS = 16;
const VOLUME_INT_DIGITS = 20;

class Invalid extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(detail);
  }
}

/*
 * Numbers. Every numeric field is read into its exact canonical decimal string, what decimal.js
 * prints with toFixed(): "-0012.500" -> "-12.5", 48794366 -> "48794366", 1e2 -> "100", any zero
 * -> "0". Every rule below is stated once, over these strings: comparing two of them needs no
 * arithmetic (cmp), so the common quote (plain decimals, at most 8 decimals) never touches
 * decimal.js. decimal.js only reads exponent notation, rounds values with more than 8 decimals,
 * and computes a jump's size when it is close to the threshold.
 * test/unit/price-feed/quote-validator-fast-path.spec.ts checks the result against the rules
 * written with decimal.js throughout (test/unit/price-feed/support/reference-quote-validator.ts).
 */

/** A decimal literal without exponent: sign, integer digits, fraction digits (a literal only when it has a digit). */
const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const LITERAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_FINITE = /^[+-]?(nan|infinity|inf)$/i;
/** Canonical non-negative decimal, as Decimal#toFixed prints one: "0", "12", "0.5", "12.0001". */
const CANONICAL = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** No column holds more than 20 integer digits or keeps anything below 1e-8: far beyond that is not a price. */
const outOfRange = (field: string, shown: string) => new Invalid('malformed', `${field} "${shown.slice(0, 30)}" out of range`);

/** The canonical string of a plain literal `t` (PLAIN matched it as `m`, with at least one digit). */
function plainCanonical(field: string, t: string, m: RegExpExecArray): string {
  const digits = m[2];
  let i = 0;
  while (i < digits.length && digits.charCodeAt(i) === 48) i++;
  const int = i === 0 ? digits : digits.slice(i);
  const rawFrac = m[3] ?? '';
  let end = rawFrac.length;
  while (end > 0 && rawFrac.charCodeAt(end - 1) === 48) end--;
  const frac = end === rawFrac.length ? rawFrac : rawFrac.slice(0, end);
  if (!int && !frac) return '0';
  // Exponent of the leading digit (decimal.js's `e`): beyond ±100 it is out of range.
  let e = int.length - 1;
  if (!int) {
    let z = 0;
    while (frac.charCodeAt(z) === 48) z++;
    e = -(z + 1);
  }
  if (e > 100 || e < -100) throw outOfRange(field, t);
  const body = frac ? `${int || '0'}.${frac}` : int;
  return m[1] === '-' ? `-${body}` : body;
}

/** The canonical string of a literal with an exponent ("1.5e3", or a number JavaScript prints so: 1e+21). */
function exponentCanonical(field: string, t: string): string {
  const d = new D(t);
  if (!d.isFinite()) throw new Invalid('not_finite', `${field} is ${t}`);
  if (!d.isZero() && (d.e > 100 || d.e < -100)) throw outOfRange(field, t);
  return d.toFixed();
}

/** A numeric field, read and checked for syntax, finiteness and magnitude: its canonical string, or null when absent. */
function readDecimal(field: string, v: number | string | null | undefined, required: boolean): string | null {
  if (v === null || v === undefined || v === '') {
    if (required) throw new Invalid('malformed', `${field} missing`);
    return null;
  }
  let t: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Invalid('not_finite', `${field} is ${v}`);
    t = String(v);
  } else if (typeof v === 'string') {
    t = v;
  } else {
    throw new Invalid('malformed', `${field} is not a number`);
  }
  // The common case: already canonical ("189.98", 48794366), and too short to be near the magnitude limits.
  if (t.length <= 100 && CANONICAL.test(t)) return t;
  t = t.trim();
  const m = PLAIN.exec(t);
  if (m && (m[2] || m[3])) return plainCanonical(field, t, m);
  if (NOT_FINITE.test(t)) throw new Invalid('not_finite', `${field} is ${t}`);
  if (!LITERAL.test(t)) throw new Invalid('malformed', `${field} "${t.slice(0, 30)}" is not a number`);
  return exponentCanonical(field, t);
}

const negative = (c: string): boolean => c.charCodeAt(0) === 45; // '-'

/** Digits before the point of a canonical string (without its sign). */
const intDigits = (c: string): number => {
  const dot = c.indexOf('.');
  return (dot < 0 ? c.length : dot) - (negative(c) ? 1 : 0);
};

/** The value as stored: rounded to 8 decimals (half up), canonical. */
function stored(c: string): string {
  const dot = c.indexOf('.');
  return dot < 0 || c.length - dot - 1 <= 8 ? c : new D(c).toDecimalPlaces(8).toFixed();
}

/** Positive, and still positive once stored with 8 decimals (a price of 0.000000001 would be stored as 0). */
const positive = (c: string): boolean => c !== '0' && !negative(c) && stored(c) !== '0';

/** At least 10^digits (for a non-negative canonical string: more integer digits than that). */
const tooLarge = (c: string, digits: number): boolean => !negative(c) && intDigits(c) > digits;

/** Compares two canonical non-negative strings numerically. */
function cmpAbs(a: string, b: string): number {
  const ia = intDigits(a);
  const ib = intDigits(b);
  if (ia !== ib) return ia < ib ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1; // same number of integer digits: digit order is numeric order
}

/** Compares two canonical strings numerically. */
function cmp(a: string, b: string): number {
  const na = negative(a);
  if (na !== negative(b)) return na ? -1 : 1;
  return na ? cmpAbs(b.slice(1), a.slice(1)) : cmpAbs(a, b);
}

/** A stored price (as the database or a commit gave it) in canonical form. */
const canonicalStored = (s: string): string => (CANONICAL.test(s) ? s : new D(s).toFixed());

const shown = (c: string | null): string => (c === null ? 'undefined' : c);

/** Each quote on its own: the rules, in the order their rejections are reported. */
function check(q: RawQuote, now: number): ValidQuote {
  if (!q || typeof q.symbol !== 'string' || !q.symbol) throw new Invalid('malformed', 'symbol missing');
  const price = readDecimal('price', q.price, true)!;
  if (!positive(price)) throw new Invalid('not_positive', `price is ${price}`);
  if (tooLarge(price, PRICE_INT_DIGITS)) throw new Invalid('malformed', `price ${price} out of range`);
  const previous = readDecimal('previous_close', q.previous_close, false);
  if (previous !== null && !positive(previous)) throw new Invalid('not_positive', `previous_close is ${previous}`);
  if (previous !== null && tooLarge(previous, PRICE_INT_DIGITS)) throw new Invalid('malformed', `previous_close ${previous} out of range`);
  const high = readDecimal('high', q.high, false);
  const low = readDecimal('low', q.low, false);
  if ((high !== null && !positive(high)) || (low !== null && !positive(low)))
    throw new Invalid('not_positive', `high/low not positive (${shown(high)}/${shown(low)})`);
  if ((high !== null && tooLarge(high, PRICE_INT_DIGITS)) || (low !== null && tooLarge(low, PRICE_INT_DIGITS))) {
    throw new Invalid('malformed', `high/low out of range (${shown(high)}/${shown(low)})`);
  }
  if (high !== null && low !== null && cmp(high, low) < 0) throw new Invalid('high_below_low', `high ${high} < low ${low}`);
  const volume = readDecimal('volume', q.volume, false);
  if (volume !== null && negative(volume)) throw new Invalid('negative_volume', `volume is ${volume}`);
  if (volume !== null && tooLarge(volume, VOLUME_INT_DIGITS)) throw new Invalid('malformed', `volume ${volume} out of range`);
  if (!(q.as_of instanceof Date) || !Number.isFinite(q.as_of.getTime())) throw new Invalid('malformed', 'timestamp missing or invalid');
  if (q.as_of.getTime() > now + FUTURE_TOLERANCE_MS) throw new Invalid('future_timestamp', `timestamp ${q.as_of.toISOString()} is in the future`);
  // The day's range must contain the price: widen it when the vendor's range lags its last trade.
  return {
    symbol: q.symbol.trim().toUpperCase(),
    price: stored(price),
    previous_close: previous === null ? null : stored(previous),
    high: high === null ? null : stored(cmp(high, price) >= 0 ? high : price),
    low: low === null ? null : stored(cmp(low, price) <= 0 ? low : price),
    volume: volume === null ? null : stored(volume),
    as_of: q.as_of,
    source: q.source,
  };
}

/** Two checked quotes of one symbol: the newer wins, the day's range and volume widen. */
function merge(a: ValidQuote, b: ValidQuote): ValidQuote {
  const [older, newer] = a.as_of.getTime() <= b.as_of.getTime() ? [a, b] : [b, a];
  const larger = (x: string | null, y: string | null) => (!x || !y ? (x ?? y) : cmp(x, y) >= 0 ? x : y);
  const smaller = (x: string | null, y: string | null) => (!x || !y ? (x ?? y) : cmp(x, y) <= 0 ? x : y);
  return {
    ...newer,
    high: larger(newer.high, older.high),
    low: smaller(newer.low, older.low),
    volume: larger(newer.volume, older.volume),
    previous_close: newer.previous_close ?? older.previous_close,
  };
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
        v = check(q, now);
      } catch (err) {
        if (err instanceof Invalid) reject({ symbol: String(q?.symbol), source: String(q?.source) }, err.reason, err.message);
        else throw err;
        continue;
      }
      // 2. Merge duplicates: newest quote wins, intraday range widens.
      const prev = bySymbol.get(v.symbol);
      bySymbol.set(v.symbol, prev ? merge(prev, v) : v);
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
        if (asOf === last && k.price !== null && cmp(canonicalStored(k.price), v.price) === 0) {
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
   * The jump rule's shortcut, not a second rule: true when the move from `last` to `price` is
   * certainly within the threshold. In doubles the relative move is within about 1e-15 of the
   * exact one (both strings are read correctly rounded), so a margin of 1e-12 decides it the way
   * decimal.js would; closer calls, and anything unusual, go to the exact decimal.js check.
   */
  private clearlyNoJump(last: string, price: string): boolean {
    if (last === '0' || !CANONICAL.test(last) || !CANONICAL.test(price)) return false;
    const l = Number(last);
    const p = Number(price);
    if (!(l >= 1e-100 && p >= 1e-100 && l < 1e300 && p < 1e300)) return false; // full double precision only
    const move = Math.abs(p - l) / l;
    return move < this.thresholdNumber - 1e-12 * (1 + move + this.thresholdNumber);
  }
}
