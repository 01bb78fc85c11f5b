import { trimZeros } from '../database/decimal.transformer';
import type { PortfolioJson, PositionJson } from '../common/api-types';
import { convertScaled, FxPaths } from './fx/fx-paths';
import { effectivePrices, formatFixed8, isPriceStale, PositionFigures, toFixed8, valuePortfolio, type PortfolioFigures } from './valuation/valuation.math';

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

/**
 * Totals of a portfolio whose positions are in several currencies, in its base currency, as the live
 * valuation computes them (valuation-engine.ts, currency views): each position's price, previous
 * close and average cost converted through the pairs (current prices; previous closes for the
 * previous close) and rounded to 8 places, half away from zero. Cost basis and unrealised gain are
 * thus at today's rate; GET …/performance gives the cost at the rates of the purchase dates and the
 * exchange rate's share of the gain. A position that cannot be converted counts as unpriced (0, stale).
 * Each position's own figures stay in its asset's currency.
 */
function convertedFigures(
  base: string,
  rows: PositionRow[],
  fx: FxQuotes,
  nowMs: number,
  intervalSeconds: number,
): { figures: PortfolioFigures; stale: boolean } {
  let stale = false;
  const now = (s: string) => fx.quote(s).price;
  const prev = (s: string) => fx.quote(s).prev;
  const inBase = rows.map((r) => {
    const currency = r.currency || base;
    const input = { quantity: r.quantity, price: r.current_price, previous_close: r.previous_close, average_cost: r.average_cost };
    if (currency === base) return input;
    const steps = fx.paths.path(currency, base);
    const conv = (v: string | null, priceOf: (s: string) => bigint | null): string | null => {
      const x = toFixed8(v);
      const c = x === null || steps === null ? null : convertScaled(x, steps, priceOf);
      return c === null ? null : formatFixed8(c);
    };
    const price = conv(r.current_price, now);
    if (steps) for (const step of steps) if (isPriceStale(fx.quote(step.symbol).asOfMs, nowMs, intervalSeconds)) stale = true;
    return { quantity: r.quantity, price, previous_close: price === null ? null : conv(r.previous_close, prev), average_cost: conv(r.average_cost, now) };
  });
  const figures = valuePortfolio(inBase);
  const local = valuePortfolio(
    rows.map((r) => ({ quantity: r.quantity, price: r.current_price, previous_close: r.previous_close, average_cost: r.average_cost })),
  );
  return { stale, figures: { ...figures, positions: local.positions } };
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
