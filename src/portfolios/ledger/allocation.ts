/**
 * Allocation of a portfolio (issue 15): the share of the total market value per key (asset type,
 * currency, holding, …). Shares are decimal strings with 10 places that sum to exactly 1: each is
 * rounded down and the remaining 10^-10 units go to the largest remainders (largest-remainder
 * method; ties to the larger value, then the smaller key).
 */
import type Decimal from 'decimal.js';
import { D, type Dec } from '../../common/decimal';
import { money, parseDecimal, RATIO_DP, ZERO } from './ledger.format';

export interface AllocationSlice {
  key: string;
  /** Sum of the market values with this key. */
  value: string;
  /** value ÷ total, 10 places; the shares sum to exactly 1 (all "0" when the total is 0). */
  share: string;
}

const UNITS = new D(10).pow(RATIO_DP);

/**
 * Groups `items` by `key(item)`, sums their `marketValue` (>= 0, else RangeError) and returns one
 * slice per key, largest value first (then by key).
 */
export function allocation<T extends { marketValue: Decimal.Value }>(items: readonly T[], key: (item: T) => string): AllocationSlice[] {
  const groups = new Map<string, Dec>();
  for (const item of items) {
    const raw = item.marketValue;
    const v = parseDecimal(typeof raw === 'object' ? raw.toString() : raw);
    if (v === null || v.isNegative()) throw new RangeError(`marketValue must be a decimal >= 0, got ${JSON.stringify(String(raw))}`);
    const k = key(item);
    groups.set(k, (groups.get(k) ?? ZERO).plus(v));
  }
  const total = [...groups.values()].reduce((s, v) => s.plus(v), ZERO);
  const rows = [...groups].map(([k, v]) => {
    const exact = total.isZero() ? ZERO : v.times(UNITS).div(total);
    const units = exact.floor();
    return { key: k, value: v, units, remainder: exact.minus(units) };
  });
  const byValue = (a: (typeof rows)[number], b: (typeof rows)[number]) => b.value.comparedTo(a.value) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  if (!total.isZero()) {
    let left = UNITS.minus(rows.reduce((s, r) => s.plus(r.units), ZERO)).toNumber();
    const order = [...rows].sort((a, b) => b.remainder.comparedTo(a.remainder) || byValue(a, b));
    for (let i = 0; left > 0 && i < order.length; i++, left--) order[i].units = order[i].units.plus(1);
  }
  return rows.sort(byValue).map((r) => ({ key: r.key, value: money(r.value), share: r.units.isZero() ? '0' : r.units.div(UNITS).toFixed() }));
}
