import { trimZeros } from '../database/decimal.transformer';
import type { PortfolioJson, PositionJson } from '../common/api-types';
import { D } from '../common/decimal';
import { convertScaled, FxPaths } from './fx/fx-paths';
import {
  effectivePrices,
  formatFixed16,
  isPriceStale,
  percentOf,
  PositionFigures,
  toFixed8,
  valuePortfolio,
  type PortfolioFigures,
} from './valuation/valuation.math';

/** A position row joined with its asset, as read by PortfoliosService. */
export interface PositionRow {
  id: number;
  portfolio_id: number;
  quantity: string;
  average_cost: string;
  created_at: Date;
  updated_at: Date;
  symbol: string;
  name: string;
  asset_type: string;
  currency: string;
  current_price: string | null;
  previous_close: string | null;
  last_updated: Date | null;
}

export interface PortfolioRow {
  id: number;
  owner_id: number;
  name: string;
  description: string;
  base_currency: string;
  created_at: Date;
  updated_at: Date;
}

/** The REST shapes live in src/common/api-types.ts (shared with the client and the pages). */
export type { PortfolioJson, PositionJson } from '../common/api-types';

const num = (v: string | null): string | null => (v == null ? null : trimZeros(v));

/** The exchange-rate pairs (FOREX assets) as the REST API reads them for portfolios in other currencies. */
export interface FxPairRow {
  symbol: string;
  current_price: string | null;
  previous_close: string | null;
  last_updated: Date | null;
}

/** The pairs, ready to convert with: paths and prices (fixed8). */
export class FxQuotes {
  readonly paths: FxPaths;
  private readonly rows: Map<string, FxPairRow>;

  constructor(rows: readonly FxPairRow[]) {
    this.paths = new FxPaths(rows.map((r) => r.symbol));
    this.rows = new Map(rows.map((r) => [r.symbol, r]));
  }

  /** Effective price now and at the previous close (fixed8; null: no price), and the as-of. */
  quote(symbol: string): { price: bigint | null; prev: bigint | null; asOfMs: number | null } {
    const r = this.rows.get(symbol);
    if (!r || r.current_price == null) return { price: null, prev: null, asOfMs: null };
    const [price, prev] = effectivePrices(toFixed8(r.current_price), toFixed8(r.previous_close));
    return { price, prev, asOfMs: r.last_updated ? r.last_updated.getTime() : null };
  }
}

/** A fixed16 integer from a decimal string of at most 16 places (valuePortfolio's outputs). */
const fixed16 = (v: string): bigint => BigInt(new D(v).times('1e16').toFixed(0));

/**
 * Totals of a portfolio whose positions are in several currencies, in its base currency, as the live
 * valuation computes them (valuation-engine.ts): each currency's figures converted through the pairs
 * at their current prices (previous value: at their previous closes). Cost basis and unrealised gain
 * are converted at today's rate too; GET …/performance gives the cost at the rates of the purchase
 * dates and the exchange rate's share of the gain. A currency that cannot be converted counts as 0
 * and makes the valuation stale.
 */
function convertedFigures(
  base: string,
  rows: PositionRow[],
  fx: FxQuotes,
  nowMs: number,
  intervalSeconds: number,
): { figures: PortfolioFigures; stale: boolean } {
  const byCurrency = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const c = r.currency || base;
    const list = byCurrency.get(c);
    if (list) list.push(i);
    else byCurrency.set(c, [i]);
  });
  const positions: PositionFigures[] = new Array(rows.length);
  let total = 0n;
  let previous = 0n;
  let cost = 0n;
  let gain = 0n;
  let pricedCost = 0n;
  let unpriced = 0;
  let stale = false;
  for (const [currency, idx] of byCurrency) {
    const f = valuePortfolio(
      idx.map((i) => ({
        quantity: rows[i].quantity,
        price: rows[i].current_price,
        previous_close: rows[i].previous_close,
        average_cost: rows[i].average_cost,
      })),
    );
    idx.forEach((i, j) => (positions[i] = f.positions[j]));
    unpriced += f.unpriced_positions;
    const steps = fx.paths.path(currency, base);
    const now = (s: string) => fx.quote(s).price;
    const prev = (s: string) => fx.quote(s).prev;
    const t = steps && convertScaled(fixed16(f.total_value), steps, now);
    const pv = steps && convertScaled(fixed16(f.previous_value), steps, prev);
    const c = steps && convertScaled(fixed16(f.cost_basis), steps, now);
    const g = steps && convertScaled(fixed16(f.unrealized_gain), steps, now);
    const pc =
      steps &&
      convertScaled(
        f.positions.reduce((sum, x) => (x.priced ? sum + fixed16(x.cost_basis) : sum), 0n),
        steps,
        now,
      );
    if (t == null || pv == null || c == null || g == null || pc == null) {
      stale = true;
      continue;
    }
    for (const step of steps!) if (isPriceStale(fx.quote(step.symbol).asOfMs, nowMs, intervalSeconds)) stale = true;
    total += t;
    previous += pv;
    cost += c;
    gain += g;
    pricedCost += pc;
  }
  return {
    stale,
    figures: {
      total_value: formatFixed16(total),
      previous_value: formatFixed16(previous),
      daily_change: formatFixed16(total - previous),
      daily_change_percent: percentOf(total - previous, previous),
      cost_basis: formatFixed16(cost),
      unrealized_gain: formatFixed16(gain),
      unrealized_gain_percent: percentOf(gain, pricedCost),
      unpriced_positions: unpriced,
      positions,
    },
  };
}

/** Does valuing these positions in `base` need exchange rates? */
export function needsFx(base: string, rows: readonly PositionRow[]): boolean {
  return rows.some((r) => (r.currency || base) !== base);
}

/**
 * Portfolio JSON with its valuation (valuation.math.ts), optionally with its positions. Totals are in
 * the base currency (`fx` converts positions in other currencies; without it they count as 0 and the
 * valuation is stale); each position's figures are in its asset's currency.
 */
export function toPortfolioJson(
  p: PortfolioRow,
  rows: PositionRow[],
  opts: { withPositions: boolean; nowMs: number; updateIntervalSeconds: number; fx?: FxQuotes },
): PortfolioJson {
  let figures: PortfolioFigures;
  let stale: boolean;
  if (needsFx(p.base_currency, rows)) {
    const converted = convertedFigures(p.base_currency, rows, opts.fx ?? new FxQuotes([]), opts.nowMs, opts.updateIntervalSeconds);
    figures = converted.figures;
    stale = converted.stale || figures.unpriced_positions > 0;
  } else {
    figures = valuePortfolio(
      rows.map((r) => ({ quantity: r.quantity, price: r.current_price, previous_close: r.previous_close, average_cost: r.average_cost })),
    );
    stale = figures.unpriced_positions > 0;
  }
  let newest: number | null = null;
  for (const r of rows) {
    const t = r.last_updated ? r.last_updated.getTime() : null;
    if (t !== null && (newest === null || t > newest)) newest = t;
    if (isPriceStale(t, opts.nowMs, opts.updateIntervalSeconds)) stale = true;
  }
  const json: PortfolioJson = {
    id: p.id,
    name: p.name,
    description: p.description,
    base_currency: p.base_currency,
    created_at: p.created_at.toISOString(),
    updated_at: p.updated_at.toISOString(),
    positions_count: rows.length,
    total_value: figures.total_value,
    daily_change: figures.daily_change,
    daily_change_percent: figures.daily_change_percent,
    cost_basis: figures.cost_basis,
    unrealized_gain: figures.unrealized_gain,
    unrealized_gain_percent: figures.unrealized_gain_percent,
    stale,
    as_of: newest === null ? null : new Date(newest).toISOString(),
  };
  if (opts.withPositions) json.positions = rows.map((r, i) => toPositionJson(r, figures.positions[i]));
  return json;
}

function toPositionJson(r: PositionRow, f: PositionFigures): PositionJson {
  return {
    id: r.id,
    portfolio_id: r.portfolio_id,
    symbol: r.symbol,
    name: r.name,
    asset_type: r.asset_type,
    currency: r.currency,
    quantity: trimZeros(r.quantity),
    average_cost: trimZeros(r.average_cost),
    current_price: num(r.current_price),
    previous_close: num(r.previous_close),
    last_updated: r.last_updated ? r.last_updated.toISOString() : null,
    market_value: f.market_value,
    cost_basis: f.cost_basis,
    unrealized_gain: f.unrealized_gain,
    unrealized_gain_percent: f.unrealized_gain_percent,
    daily_change: f.daily_change,
    daily_change_percent: f.daily_change_percent,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}
