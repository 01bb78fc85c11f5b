/**
 * The ledger in a portfolio's base currency (issue 15): exchange rates by day from the FX pairs'
 * daily closes, transactions converted on their date, and the FX effect on unrealised P/L.
 *
 * - The rate of a currency into the base on a day follows FxPaths (fx-paths.ts); each pair's price
 *   on that day is its last daily close on or before it, today its live price. Before a pair's
 *   first stored close, its first close is used (then its live price).
 * - A transaction in another currency is converted at the rate of its date: price and fee are
 *   multiplied by it (for DIVIDEND, FEE, DEPOSIT, WITHDRAWAL the price is the amount), so the whole
 *   replay (cash, cost basis, realised P/L, flows) is in the base currency. Cash is therefore kept
 *   in the base currency: money brought in another currency is converted on the day it arrives.
 * - A holding's value on a day is quantity × (close × that day's rate, rounded to 8 places), as the
 *   live valuation converts prices.
 * - FX effect (unrealised): for a holding in another currency, the part of its unrealised P/L that
 *   comes from the rate moving since the shares were bought:
 *       fx effect    = local cost × rate now − base cost
 *       price effect = (local value − local cost) × rate now = unrealised P/L − fx effect
 *   where the local cost is the cost basis replayed in the asset's own currency.
 * Division by a rate (a pair quoted the other way round) is computed to 40 significant digits;
 * outputs are rounded at the end as everywhere in the ledger (money: 8 places, half up).
 */
import { D, type Dec } from '../../common/decimal';
import { replayLedger } from '../ledger/ledger';
import type { LedgerTransaction } from '../ledger/ledger.types';
import type { FxPaths } from './fx-paths';

export interface DatedClose {
  day: string;
  close: string;
}

/** Exchange rates into one base currency, by day. */
export class FxRates {
  private readonly memo = new Map<string, Dec | null>();

  /**
   * @param closes per pair symbol, its daily closes sorted by day
   * @param live per pair symbol, its live price (used for today and after)
   */
  constructor(
    readonly base: string,
    private readonly paths: FxPaths,
    private readonly closes: ReadonlyMap<string, readonly DatedClose[]>,
    private readonly live: ReadonlyMap<string, string>,
    private readonly today: string,
  ) {}

  /** 1 unit of `currency` in the base currency on `date`; null when there is no path or no price for it. */
  rate(currency: string, date: string): Dec | null {
    if (currency === this.base) return ONE;
    const key = `${currency} ${date}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const steps = this.paths.path(currency, this.base);
    let r: Dec | null = null;
    if (steps) {
      r = ONE;
      for (const s of steps) {
        const p = this.priceOn(s.symbol, date);
        if (p === null || p.lte(0)) {
          r = null;
          break;
        }
        r = s.divide ? r.div(p) : r.times(p);
      }
    }
    this.memo.set(key, r);
    return r;
  }

  /** Can `currency` be converted at all (a path exists)? */
  convertible(currency: string): boolean {
    return this.paths.path(currency, this.base) !== null;
  }

  private priceOn(symbol: string, date: string): Dec | null {
    const live = this.live.get(symbol);
    if (date >= this.today && live !== undefined) return new D(live);
    const list = this.closes.get(symbol);
    if (list && list.length > 0) {
      // The last close on or before `date` (binary search), else the first one.
      let lo = 0;
      let hi = list.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid].day <= date) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      return new D(list[found < 0 ? 0 : found].close);
    }
    return live === undefined ? null : new D(live);
  }
}

const ONE = new D(1);

/** Amount × rate as a plain decimal string (exact up to the 40 significant digits of a divided rate). */
function times(v: string | null, r: Dec): string | null {
  return v === null ? null : new D(v).times(r).toFixed();
}

export type ToBase = { ok: true; txs: LedgerTransaction[] } | { ok: false; currency: string; date: string };

/** Every transaction in the base currency, converted at its date's rate (see the module comment). */
export function transactionsInBase(txs: readonly LedgerTransaction[], rates: FxRates): ToBase {
  const out: LedgerTransaction[] = [];
  for (const t of txs) {
    if (t.currency === rates.base) {
      out.push(t);
      continue;
    }
    const r = rates.rate(t.currency, t.date);
    if (r === null) return { ok: false, currency: t.currency, date: t.date };
    out.push({ ...t, price: times(t.price, r), fee: times(t.fee, r) ?? '0', currency: rates.base });
  }
  return { ok: true, txs: out };
}

/**
 * Cost basis of each holding in its asset's own currency, for the holdings whose currency is not the
 * base (the BUY, SELL and SPLIT transactions of those symbols replayed alone; amounts in another
 * currency converted into the asset's at their date). Symbols whose local cost cannot be known are absent.
 */
export function localCosts(txs: readonly LedgerTransaction[], currencyOf: (symbol: string) => string, rates: FxRates): Map<string, string> {
  const mine: LedgerTransaction[] = [];
  for (const t of txs) {
    if (t.symbol === null || (t.type !== 'BUY' && t.type !== 'SELL' && t.type !== 'SPLIT')) continue;
    const cur = currencyOf(t.symbol);
    if (cur === rates.base) continue;
    if (t.currency === cur || t.type === 'SPLIT') {
      mine.push({ ...t, currency: cur });
      continue;
    }
    const from = rates.rate(t.currency, t.date);
    const to = rates.rate(cur, t.date);
    if (from === null || to === null) continue;
    const r = from.div(to);
    mine.push({ ...t, price: times(t.price, r), fee: times(t.fee, r) ?? '0', currency: cur });
  }
  const res = replayLedger(mine);
  const out = new Map<string, string>();
  if (!res.ok) return out;
  for (const h of res.result.holdings) out.set(h.symbol, h.cost);
  return out;
}
