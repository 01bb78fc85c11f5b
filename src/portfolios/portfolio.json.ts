import { trimZeros } from '../database/decimal.transformer';
import type { PortfolioJson, PositionJson } from '../common/api-types';
import { isPriceStale, PositionFigures, valuePortfolio } from './valuation/valuation.math';

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

/** Portfolio JSON with its valuation (valuation.math.ts), optionally with its positions. */
export function toPortfolioJson(
  p: PortfolioRow,
  rows: PositionRow[],
  opts: { withPositions: boolean; nowMs: number; updateIntervalSeconds: number },
): PortfolioJson {
  const figures = valuePortfolio(
    rows.map((r) => ({ quantity: r.quantity, price: r.current_price, previous_close: r.previous_close, average_cost: r.average_cost })),
  );
  let newest: number | null = null;
  let stale = figures.unpriced_positions > 0;
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
