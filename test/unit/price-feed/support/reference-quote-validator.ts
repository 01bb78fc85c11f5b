import { D, Dec } from '../../../../src/common/decimal';
import type { RawQuote } from '../../../../src/price-feed/providers/price-provider.interface';
import {
  FUTURE_TOLERANCE_MS,
  type KnownPrice,
  type RejectedQuote,
  type RejectReason,
  type ValidationResult,
  type ValidQuote,
} from '../../../../src/price-feed/validation/quote-validator';

// The validator's rules written the slow, obvious way: every number through decimal.js. This is
// the decimal.js path QuoteValidator had before its two paths were merged into one (it was the
// reference the fast path had to equal); test/unit/price-feed/quote-validator-fast-path.spec.ts
// checks that the production validator gives exactly what this gives, for every input. Not used
// by the service: an oracle only (no logging, no metrics).

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

function bounded(field: string, d: Dec, shown: string): Dec {
  if (!d.isZero() && (d.e > 100 || d.e < -100)) throw new Invalid('malformed', `${field} "${shown.slice(0, 30)}" out of range`);
  return d;
}

const positive = (d: Dec): boolean => d.gt(0) && !d.toDecimalPlaces(8).isZero();
const str = (d: Dec | null): string | null => (d === null ? null : d.toDecimalPlaces(8).toFixed());

function check(q: RawQuote, now: number): ValidQuote {
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
  if ((high && high.gte(PRICE_MAX)) || (low && low.gte(PRICE_MAX)))
    throw new Invalid('malformed', `high/low out of range (${high?.toFixed()}/${low?.toFixed()})`);
  if (high && low && high.lt(low)) throw new Invalid('high_below_low', `high ${high.toFixed()} < low ${low.toFixed()}`);
  const volume = decimal('volume', q.volume, false);
  if (volume && volume.lt(0)) throw new Invalid('negative_volume', `volume is ${volume.toFixed()}`);
  if (volume && volume.gte(VOLUME_MAX)) throw new Invalid('malformed', `volume ${volume.toFixed()} out of range`);
  if (!(q.as_of instanceof Date) || !Number.isFinite(q.as_of.getTime())) throw new Invalid('malformed', 'timestamp missing or invalid');
  if (q.as_of.getTime() > now + FUTURE_TOLERANCE_MS) throw new Invalid('future_timestamp', `timestamp ${q.as_of.toISOString()} is in the future`);
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

function merge(a: ValidQuote, b: ValidQuote): ValidQuote {
  const [older, newer] = a.as_of.getTime() <= b.as_of.getTime() ? [a, b] : [b, a];
  const pick = (x: string | null, y: string | null, f: (p: Dec, q: Dec) => Dec) => (!x || !y ? (x ?? y) : f(new D(x), new D(y)).toFixed());
  return {
    ...newer,
    high: pick(newer.high, older.high, (p, q) => D.max(p, q)),
    low: pick(newer.low, older.low, (p, q) => D.min(p, q)),
    volume: pick(newer.volume, older.volume, (p, q) => D.max(p, q)),
    previous_close: newer.previous_close ?? older.previous_close,
  };
}

/** Same interface as QuoteValidator#validate (jump confirmations are remembered across calls, like the real one). */
export class ReferenceQuoteValidator {
  private readonly pendingJumps = new Map<string, Dec>();
  private readonly threshold: Dec;

  constructor(threshold: string) {
    this.threshold = new D(threshold);
  }

  validate(quotes: RawQuote[], known: Map<string, KnownPrice>, now: number = Date.now()): ValidationResult {
    const rejected: RejectedQuote[] = [];
    const unchanged: string[] = [];
    const bySymbol = new Map<string, ValidQuote>();
    const reject = (q: { symbol: string; source: string }, reason: RejectReason, detail: string) => {
      rejected.push({ symbol: q.symbol, reason, detail, source: q.source });
    };
    for (const q of quotes) {
      let v: ValidQuote;
      try {
        v = check(q, now);
      } catch (err) {
        if (err instanceof Invalid) reject({ symbol: String(q?.symbol), source: String(q?.source) }, err.reason, err.message);
        else throw err;
        continue;
      }
      const prev = bySymbol.get(v.symbol);
      bySymbol.set(v.symbol, prev ? merge(prev, v) : v);
    }
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
        if (asOf === last && k.price !== null && new D(k.price).comparedTo(v.price) === 0) {
          unchanged.push(v.symbol);
          continue;
        }
      }
      if (k?.price && this.threshold.gt(0)) {
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
        }
      }
      this.pendingJumps.delete(v.symbol);
      accepted.push(v);
    }
    return { accepted, rejected, unchanged };
  }
}
