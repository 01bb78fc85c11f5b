/**
 * Value history of a portfolio (issue 15): one snapshot per calendar day, from one replay pass.
 *
 * - Transactions dated on a day are applied before that day's close (a SPLIT dated d is effective
 *   on d: d's close is already the post-split price).
 * - `closes(symbol, date)` gives that day's (unadjusted) close, or null (weekend, holiday, no data).
 *   The last close seen carries forward, divided by any SPLIT since (quantity × close ÷ ratios, so
 *   the value is unchanged by the split, exactly); for a symbol with no close yet
 *   the days before are looked up (up to `lookbackDays`, default 10, split-adjusted the same way),
 *   and a holding still without a close is valued at its cost basis (its average cost).
 *   A lookup that already answers "last close on or before" works as well.
 * - Work: O(transactions + days × holdings). The ledger (decimal.js) runs once; the daily valuation
 *   Σ quantity × close is exact fixed-point BigInt arithmetic (no decimal.js parsing per close), and a
 *   day without transactions reuses the previous day's cost, cash and flow strings.
 *   Transactions after `to` are neither applied nor checked.
 */
import { D, type Dec } from '../../common/decimal';
import { Ledger, sortTransactions, type LedgerOptions, type LedgerPosition } from './ledger';
import { dateOf, MONEY_DP, money, parseDecimal, requireDay, ZERO } from './ledger.format';
import type { LedgerProblem, LedgerTransaction } from './ledger.types';

export type CloseLookup = (symbol: string, date: string) => string | null | undefined;

export interface DailySnapshot {
  date: string;
  /** Holdings at the day's close (or their cost when there is no close yet) + cash. */
  value: string;
  /** Cost basis of the holdings. */
  cost: string;
  cash: string;
  /** Cumulative external flows (deposits − withdrawals, implicit deposits included). */
  netFlows: string;
  /** That day's external flow (the change of netFlows over the day). */
  flow: string;
}

export type DailySnapshots = { ok: true; days: DailySnapshot[] } | { ok: false; problem: LedgerProblem };

export interface DailySnapshotOptions extends LedgerOptions {
  /** How many days before a missing close to look for one (default 10). */
  lookbackDays?: number;
}

// --- exact fixed point: value = m × 10^−s ---------------------------------------------------------

interface Fx {
  readonly m: bigint;
  readonly s: number;
}

const POW10: bigint[] = [1n];
function pow10(n: number): bigint {
  while (POW10.length <= n) POW10.push(POW10[POW10.length - 1] * 10n);
  return POW10[n];
}

const FX_ZERO: Fx = { m: 0n, s: 0 };
const PLAIN = /^(\d+)(?:\.(\d*))?$/;

/** Exact: Decimal's toFixed() without places is the full value in normal notation. */
function fxOfDec(d: Dec): Fx {
  const t = d.toFixed();
  const neg = t.startsWith('-');
  const [int, frac = ''] = (neg ? t.slice(1) : t).split('.');
  const m = BigInt(int + frac);
  return { m: neg ? -m : m, s: frac.length };
}

function decOfFx(x: Fx): Dec {
  return new D(`${x.m}e-${x.s}`);
}

function fxOfString(raw: string): Fx | null {
  const p = PLAIN.exec(raw);
  if (p) {
    const frac = p[2] ?? '';
    return { m: BigInt(p[1] + frac), s: frac.length };
  }
  const d = parseDecimal(raw);
  return d === null ? null : fxOfDec(d);
}

function fxAdd(a: Fx, b: Fx): Fx {
  if (a.s === b.s) return { m: a.m + b.m, s: a.s };
  return a.s < b.s ? { m: a.m * pow10(b.s - a.s) + b.m, s: b.s } : { m: a.m + b.m * pow10(a.s - b.s), s: a.s };
}

/** HALF_UP (away from zero) to MONEY_DP places, no trailing zeros; same output as money() of the Decimal. */
function fxMoney(x: Fx): string {
  const neg = x.m < 0n;
  let m = neg ? -x.m : x.m;
  let s = x.s;
  if (s > MONEY_DP) {
    const div = pow10(s - MONEY_DP);
    const r = m % div;
    m = m / div + (r * 2n >= div ? 1n : 0n);
    s = MONEY_DP;
  }
  if (m === 0n) return '0';
  let text = m.toString();
  if (s > 0) {
    text = text.padStart(s + 1, '0');
    const frac = text.slice(-s).replace(/0+$/, '');
    text = frac ? `${text.slice(0, -s)}.${frac}` : text.slice(0, -s);
  }
  return neg ? `-${text}` : text;
}

// --------------------------------------------------------------------------------------------------

/** A close as looked up, and the product of the split ratios since (null: none), so that
 * value = quantity × close ÷ divisor stays exact where it can (3 × 10 ÷ 3 = 10, not 9.99…). */
interface Quote {
  readonly close: Fx;
  readonly divisor: Dec | null;
}

interface PriceState {
  /** Last close known for the symbol; replaced (never mutated) on every change. */
  quote: Quote | null;
  /** The lookup's answer that gave `quote` (same answer: same Quote, nothing parsed). */
  raw: string | null;
  lookedBack: boolean;
}

interface ValueCache {
  pos: LedgerPosition;
  quantity: Fx;
  cost: Fx;
  quote: Quote | null;
  value: Fx;
}

function valueAt(quantity: Fx, cost: Fx, quote: Quote | null): Fx {
  if (!quote) return cost;
  const v = { m: quantity.m * quote.close.m, s: quantity.s + quote.close.s };
  return quote.divisor ? fxOfDec(decOfFx(v).div(quote.divisor)) : v;
}

/** Snapshots for every calendar day in [from, to] (RangeError when from > to or a date is invalid). */
export function dailySnapshots(
  txs: readonly LedgerTransaction[],
  closes: CloseLookup,
  from: string,
  to: string,
  opts: DailySnapshotOptions = {},
): DailySnapshots {
  const first = requireDay(from, 'from');
  const last = requireDay(to, 'to');
  if (first > last) throw new RangeError(`from (${from}) is after to (${to})`);
  const lookback = opts.lookbackDays ?? 10;
  const sorted = sortTransactions(txs);
  const ledger = new Ledger({ today: opts.today });
  const splits = new Map<string, { day: number; ratio: Dec }[]>();
  const prices = new Map<string, PriceState>();
  const cache = new Map<string, ValueCache>();

  let i = 0;
  const applyThrough = (date: string): LedgerProblem | null => {
    for (; i < sorted.length && sorted[i].date <= date; i++) {
      const tx = sorted[i];
      const problem = ledger.apply(tx);
      if (problem) return problem;
      if (tx.type === 'SPLIT') {
        const r = parseDecimal(tx.quantity)!;
        const symbol = tx.symbol!;
        const list = splits.get(symbol) ?? [];
        list.push({ day: requireDay(tx.date, 'date'), ratio: r });
        splits.set(symbol, list);
        const p = prices.get(symbol);
        if (p?.quote) {
          p.quote = { close: p.quote.close, divisor: (p.quote.divisor ?? new D(1)).times(r) };
          p.raw = null;
        }
      }
    }
    return null;
  };
  /** Product of the ratios of the symbol's splits effective after day `after` and on or before `upTo`. */
  const splitFactor = (symbol: string, after: number, upTo: number): Dec => {
    let f: Dec = new D(1);
    for (const s of splits.get(symbol) ?? []) if (s.day > after && s.day <= upTo) f = f.times(s.ratio);
    return f;
  };
  const parseClose = (symbol: string, date: string, raw: string | null | undefined): Fx | null => {
    if (raw === null || raw === undefined) return null;
    const c = fxOfString(raw);
    if (c === null) throw new RangeError(`close of ${symbol} on ${date} is not a decimal: ${JSON.stringify(raw)}`);
    return c;
  };
  const quoteOf = (symbol: string, day: number, date: string): Quote | null => {
    let p = prices.get(symbol);
    if (!p) prices.set(symbol, (p = { quote: null, raw: null, lookedBack: false }));
    const raw = closes(symbol, date);
    if (raw !== null && raw !== undefined && raw === p.raw) return p.quote;
    const today = parseClose(symbol, date, raw);
    if (today) {
      p.quote = { close: today, divisor: null };
      p.raw = raw!;
      return p.quote;
    }
    if (!p.quote && !p.lookedBack) {
      p.lookedBack = true;
      for (let d = day - 1; d >= day - lookback; d--) {
        const c = parseClose(symbol, dateOf(d), closes(symbol, dateOf(d)));
        if (c) {
          const f = splitFactor(symbol, d, day);
          p.quote = { close: c, divisor: f.eq(1) ? null : f };
          p.raw = null;
          break;
        }
      }
    }
    return p.quote;
  };

  const early = applyThrough(dateOf(first - 1));
  if (early) return { ok: false, problem: early };

  const days: DailySnapshot[] = [];
  let prev: DailySnapshot | null = null;
  let cash = FX_ZERO;
  for (let day = first; day <= last; day++) {
    const date = dateOf(day);
    const flowsBefore = ledger.netFlows;
    const applied = i;
    const problem = applyThrough(date);
    if (problem) return { ok: false, problem };
    const changed = prev === null || i !== applied;
    if (changed) cash = fxOfDec(ledger.cash);
    let total = cash;
    for (const [symbol, pos] of ledger.positions) {
      const quote = quoteOf(symbol, day, date);
      let c = cache.get(symbol);
      if (!c || c.pos !== pos) {
        const quantity = fxOfDec(pos.quantity);
        const cost = fxOfDec(pos.cost);
        c = { pos, quantity, cost, quote, value: valueAt(quantity, cost, quote) };
        cache.set(symbol, c);
      } else if (c.quote !== quote) {
        c.quote = quote;
        c.value = valueAt(c.quantity, c.cost, quote);
      }
      total = fxAdd(total, c.value);
    }
    const value = fxMoney(total);
    let snap: DailySnapshot;
    if (changed || prev === null) {
      let cost = ZERO;
      for (const pos of ledger.positions.values()) cost = cost.plus(pos.cost);
      snap = { date, value, cost: money(cost), cash: money(ledger.cash), netFlows: money(ledger.netFlows), flow: money(ledger.netFlows.minus(flowsBefore)) };
    } else {
      // No transaction that day: cost, cash and flows are the previous day's.
      snap = { date, value, cost: prev.cost, cash: prev.cash, netFlows: prev.netFlows, flow: '0' };
    }
    days.push(snap);
    prev = snap;
  }
  return { ok: true, days };
}
