/**
 * Performance figures of a portfolio (issue 15): time-weighted return, money-weighted return (XIRR)
 * and unrealised P/L. Pure, synchronous, decimal.js `D` throughout (no floating point); results are
 * decimal strings without trailing zeros, returns as fractions (0.1234 = 12.34 %) to 10 places,
 * money to 8, rounded HALF_UP at output only.
 */
import type Decimal from 'decimal.js';
import { D, type Dec } from '../../common/decimal';
import { money, ONE, parseDecimal, ratio, requireDay, ZERO } from './ledger.format';
import type { LedgerHolding } from './ledger.types';

function num(v: Decimal.Value, what: string): Dec {
  const d = parseDecimal(typeof v === 'object' ? v.toString() : v);
  if (d === null) throw new RangeError(`${what} must be a decimal number, got ${JSON.stringify(String(v))}`);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Time-weighted return
// ---------------------------------------------------------------------------------------------

export interface TwrDay {
  date: string;
  /** Value at the end of the day (holdings + cash). */
  value: Decimal.Value;
  /** External flow of the day (deposits +, withdrawals −), arriving at the START of the day. */
  flow: Decimal.Value;
}

export interface TwrResult {
  /** Cumulative time-weighted return over the counted days, e.g. "0.1234" = 12.34 %. "0" when no day counts. */
  cumulative: string;
  /** (1 + cumulative)^(365 / days) − 1 when the counted period spans 365 days or more, else null. */
  annualised: string | null;
  /** Calendar days from the start of the first counted day to the end of the last day (0 when none counts). */
  days: number;
}

export interface TwrOptions {
  /** V_0, the value at the end of the day before the first day (default 0: the first day's flow is its base). */
  startValue?: Decimal.Value;
}

/**
 * Daily chain-linking: r_t = V_t / (V_{t−1} + F_t) − 1 (the day's flow arrives at its start; before the
 * first day V = `startValue`, 0 by default, so the first day's flow is its base); days whose base
 * V_{t−1} + F_t is zero or negative are skipped (nothing invested). Cumulative = Π(1 + r_t) − 1.
 * Days are sorted by date; a gap between two days is one sub-period.
 */
export function timeWeightedReturn(days: readonly TwrDay[], opts: TwrOptions = {}): TwrResult {
  const rows = days.map((d) => ({ day: requireDay(d.date, 'date'), value: num(d.value, 'value'), flow: num(d.flow, 'flow') })).sort((a, b) => a.day - b.day);
  let growth = ONE;
  let prev = opts.startValue === undefined ? ZERO : num(opts.startValue, 'startValue');
  let firstDay: number | null = null;
  let lastDay = 0;
  for (const r of rows) {
    const base = prev.plus(r.flow);
    if (base.gt(0)) {
      growth = growth.times(r.value).div(base);
      firstDay ??= r.day;
      lastDay = r.day;
    }
    prev = r.value;
  }
  if (firstDay === null) return { cumulative: '0', annualised: null, days: 0 };
  const span = lastDay - firstDay + 1;
  let annualised: string | null = null;
  if (span >= 365) annualised = growth.lte(0) ? '-1' : ratio(growth.ln().times(365).div(span).exp().minus(1));
  return { cumulative: ratio(growth.minus(1)), annualised, days: span };
}

// ---------------------------------------------------------------------------------------------
// XIRR
// ---------------------------------------------------------------------------------------------

export interface DatedFlow {
  date: string;
  /** Investor's view: money put in negative, money taken out (and the final value) positive. */
  amount: Decimal.Value;
}

export interface XirrOptions {
  /** Newton's starting rate (default 0.1). */
  guess?: Decimal.Value;
  /** Newton iterations (default 100); the bisection fallback stops after 200 halvings or at the tolerance. */
  maxIterations?: number;
  /** Stop when the rate moves less than this (default 1e-12). */
  tolerance?: Decimal.Value;
}

interface Npv {
  value: Dec;
  derivative: Dec;
}

/**
 * The annual rate r with Σ amount_i / (1 + r)^(days_i / 365) = 0 (Act/365, days from the earliest flow),
 * as a fraction to 10 places. Newton's method from `guess`; when it fails (leaves r > −1, flat
 * derivative, no convergence) bisection on the first sign change found on a grid of rates in
 * (−1, 10^6]. Null when the flows do not change sign, all fall on one day, or no root is found.
 */
export function xirr(flows: readonly DatedFlow[], opts: XirrOptions = {}): string | null {
  const byDay = new Map<number, Dec>();
  for (const f of flows) {
    const day = requireDay(f.date, 'date');
    byDay.set(day, (byDay.get(day) ?? ZERO).plus(num(f.amount, 'amount')));
  }
  const points = [...byDay].filter(([, a]) => !a.isZero()).sort((a, b) => a[0] - b[0]);
  if (points.length < 2 || !points.some(([, a]) => a.gt(0)) || !points.some(([, a]) => a.lt(0))) return null;
  const day0 = points[0][0];
  const ts = points.map(([d]) => d - day0);
  const as = points.map(([, a]) => a);
  const scale = as.reduce((s, a) => s.plus(a.abs()), ZERO);
  const maxIt = opts.maxIterations ?? 100;
  const tol = new D(opts.tolerance ?? '1e-12');

  // NPV and dNPV/dr at r (> −1): with g = (1 + r)^(−1/365), each discount factor is g^t (integer powers).
  const npv = (r: Dec): Npv => {
    const onePlus = r.plus(1);
    const g = onePlus.ln().div(-365).exp();
    let value = ZERO;
    let slope = ZERO;
    let factor = ONE; // g^ts[i], built from the previous one (ts ascending, gaps usually small)
    for (let i = 0; i < ts.length; i++) {
      if (i > 0) factor = factor.times(g.pow(ts[i] - ts[i - 1]));
      const pv = as[i].times(factor);
      value = value.plus(pv);
      slope = slope.minus(pv.times(ts[i]));
    }
    return { value, derivative: slope.div(onePlus.times(365)) };
  };
  const small = (v: Dec) => v.abs().lte(scale.times('1e-9'));

  // Newton.
  let r = new D(opts.guess ?? '0.1');
  for (let i = 0; i < maxIt && r.gt(-1); i++) {
    const { value, derivative } = npv(r);
    if (value.isZero()) return ratio(r);
    if (derivative.isZero()) break;
    let next = r.minus(value.div(derivative));
    if (next.lte(-1)) next = r.minus(1).div(2); // halfway to −1, stay in the domain
    if (next.minus(r).abs().lt(tol)) {
      if (small(npv(next).value)) return ratio(next);
      break;
    }
    r = next;
  }

  // Bisection on the first bracket of a grid.
  const grid = ['-0.999999', '-0.99', '-0.9', '-0.5', '-0.2', '0', '0.1', '0.25', '0.5', '1', '2', '5', '10', '100', '1000', '10000', '1000000'].map(
    (s) => new D(s),
  );
  let lo = grid[0];
  let fLo = npv(lo).value;
  for (let k = 1; k < grid.length; k++) {
    const hi = grid[k];
    const fHi = npv(hi).value;
    if (fLo.isZero()) return ratio(lo);
    if (fLo.isNegative() !== fHi.isNegative() || fHi.isZero()) return ratio(bisect(npv, lo, fLo, hi, 200, tol));
    lo = hi;
    fLo = fHi;
  }
  return null;
}

function bisect(npv: (r: Dec) => Npv, lo: Dec, fLo: Dec, hi: Dec, maxIt: number, tol: Dec): Dec {
  for (let i = 0; i < maxIt && hi.minus(lo).gt(tol); i++) {
    const mid = lo.plus(hi).div(2);
    const f = npv(mid).value;
    if (f.isZero()) return mid;
    if (f.isNegative() === fLo.isNegative()) {
      lo = mid;
      fLo = f;
    } else {
      hi = mid;
    }
  }
  return lo.plus(hi).div(2);
}

// ---------------------------------------------------------------------------------------------
// Unrealised P/L
// ---------------------------------------------------------------------------------------------

export type PriceLookup = Readonly<Record<string, string | null | undefined>> | ((symbol: string) => string | null | undefined);

export interface UnrealisedHolding {
  symbol: string;
  quantity: string;
  /** Null when there is no price: the holding is then valued at its cost (unrealised 0). */
  price: string | null;
  marketValue: string;
  cost: string;
  /** marketValue − cost. */
  unrealised: string;
  /** unrealised ÷ cost; null when the cost is 0. */
  unrealisedReturn: string | null;
}

export interface UnrealisedResult {
  holdings: UnrealisedHolding[];
  marketValue: string;
  cost: string;
  unrealised: string;
  unrealisedReturn: string | null;
  /** Symbols without a price (valued at cost). */
  unpriced: string[];
}

/** Market value − cost per holding and in total, in the order given. */
export function unrealised(holdings: readonly Pick<LedgerHolding, 'symbol' | 'quantity' | 'cost'>[], prices: PriceLookup): UnrealisedResult {
  const priceOf = typeof prices === 'function' ? prices : (s: string) => (Object.prototype.hasOwnProperty.call(prices, s) ? prices[s] : null);
  let mvTotal = ZERO;
  let costTotal = ZERO;
  const unpriced: string[] = [];
  const rows = holdings.map((h): UnrealisedHolding => {
    const q = num(h.quantity, `quantity of ${h.symbol}`);
    const cost = num(h.cost, `cost of ${h.symbol}`);
    const raw = priceOf(h.symbol);
    const price = raw === null || raw === undefined ? null : num(raw, `price of ${h.symbol}`);
    if (price === null) unpriced.push(h.symbol);
    const mv = price === null ? cost : q.times(price);
    mvTotal = mvTotal.plus(mv);
    costTotal = costTotal.plus(cost);
    const u = mv.minus(cost);
    return {
      symbol: h.symbol,
      quantity: ratio(q),
      price: price === null ? null : money(price),
      marketValue: money(mv),
      cost: money(cost),
      unrealised: money(u),
      unrealisedReturn: cost.isZero() ? null : ratio(u.div(cost)),
    };
  });
  const u = mvTotal.minus(costTotal);
  return {
    holdings: rows,
    marketValue: money(mvTotal),
    cost: money(costTotal),
    unrealised: money(u),
    unrealisedReturn: costTotal.isZero() ? null : ratio(u.div(costTotal)),
    unpriced,
  };
}
