import { describe, expect, it } from 'vitest';
import type { PriceTick } from '../../../src/bus/bus.messages';
import { HoldingRow, SymbolPriceRow, ValuationEngine } from '../../../src/portfolios/valuation/valuation-engine';
import type { PortfolioValuation } from '../../../src/portfolios/valuation/valuation.types';
import { FxQuotes, toPortfolioJson, type PositionRow } from '../../../src/portfolios/portfolio.json';

/**
 * ValuationEngine with portfolios in a base currency other than their holdings' (issue 15): the
 * holdings in another currency are converted through the FOREX pairs at output; a move of a pair
 * revalues every portfolio that converts through it. Every figure by hand.
 */

const STALE_MS = 90_000;
const T = Date.UTC(2026, 11, 7, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function engine() {
  const e = new ValuationEngine({ staleMs: STALE_MS, log: { warn: () => undefined, error: () => undefined } });
  const seen: PortfolioValuation[][] = [];
  e.onChange((c) => seen.push(c));
  return { e, seen };
}

const asset = (symbol: string, price: string | null, prev: string | null = price, asset_type = 'STOCK', asOf: number | null = T - 1_000): SymbolPriceRow => ({
  symbol,
  current_price: price,
  previous_close: prev,
  last_updated: asOf === null ? null : new Date(asOf),
  asset_type,
});

const row = (portfolio_id: number, base: string, symbol: string | null, currency: string | null, quantity: string | null): HoldingRow => ({
  portfolio_id,
  owner_id: 1,
  name: `P${portfolio_id}`,
  base_currency: base,
  symbol,
  currency,
  quantity,
});

const tick = (symbol: string, price: string, asOf: number, previous_close: string | null = null): PriceTick => ({
  symbol,
  price,
  previous_close,
  high: null,
  low: null,
  volume: null,
  as_of: iso(asOf),
  source: 'test',
});

/**
 * EURUSD 1.25 (previous close 1.2), USDJPY 150 (prev 150). AAPL 200 USD (prev 190), SAP 100 EUR (prev 100).
 * P1 (EUR): 10 AAPL + 5 SAP = 10 × 200 / 1.25 + 500 = 1600 + 500 = 2100 EUR;
 *           yesterday 10 × round8(190 / 1.2 = 158.33333333) + 500 = 2083.3333333 → change 16.6666667.
 * P2 (USD): 10 AAPL = 2000 USD, untouched by FX.
 * P3 (JPY): 2 SAP = 200 EUR × 1.25 × 150 = 37500 JPY (through USD).
 */
function loaded() {
  const ctx = engine();
  ctx.e.load(
    [asset('EURUSD', '1.25', '1.2', 'FOREX'), asset('USDJPY', '150', '150', 'FOREX'), asset('AAPL', '200', '190'), asset('SAP', '100', '100')],
    [row(1, 'EUR', 'AAPL', 'USD', '10'), row(1, 'EUR', 'SAP', 'EUR', '5'), row(2, 'USD', 'AAPL', 'USD', '10'), row(3, 'JPY', 'SAP', 'EUR', '2')],
  );
  return ctx;
}

describe('ValuationEngine: base currencies', () => {
  it('values holdings in other currencies at the pairs’ prices, and the day’s change at their previous closes', () => {
    const { e } = loaded();
    expect(e.valuation(1, T)).toMatchObject({
      total_value: '2100',
      daily_change: '16.6666667',
      daily_change_percent: '0.8',
      positions_count: 2,
      stale: false,
    });
    expect(e.valuation(2, T)).toMatchObject({ total_value: '2000', daily_change: '100', positions_count: 1 });
    expect(e.valuation(3, T)).toMatchObject({ total_value: '37500', daily_change: '1500', positions_count: 1 });
    // Positions keep their order and their own currency's figures.
    expect(e.positions(1)!.map((p) => [p.symbol, p.market_value])).toEqual([
      ['AAPL', '2000'],
      ['SAP', '500'],
    ]);
    expect(e.stats()).toEqual({ portfolios: 3, positions: 4, symbols: 4 });
  });

  it('a move of a holding’s price revalues its portfolio in the base currency', () => {
    const { e, seen } = loaded();
    e.applyPrices([tick('AAPL', '210', T)]);
    const byId = new Map(seen.flat().map((v) => [v.portfolio_id, v]));
    expect([...byId.keys()].sort()).toEqual([1, 2]);
    // 10 × 210 / 1.25 + 500
    expect(byId.get(1)!.total_value).toBe('2180');
    expect(byId.get(2)!.total_value).toBe('2100');
  });

  it('a move of a pair revalues exactly the portfolios converting through it, once each', () => {
    const { e, seen } = loaded();
    const n = e.applyPrices([tick('EURUSD', '1.28', T)]);
    expect(n).toBe(2);
    expect(seen).toHaveLength(1);
    const byId = new Map(seen[0].map((v) => [v.portfolio_id, v]));
    expect([...byId.keys()].sort()).toEqual([1, 3]);
    // 2000 / 1.28 + 500 = 1562.5 + 500; 200 × 1.28 × 150
    expect(byId.get(1)!.total_value).toBe('2062.5');
    expect(byId.get(3)!.total_value).toBe('38400');
    // A batch moving both a stock and the pair: the portfolio once, with both moves.
    seen.length = 0;
    e.applyPrices([tick('AAPL', '256', T + 1), tick('EURUSD', '1.6', T + 1)]);
    const once = seen[0].filter((v) => v.portfolio_id === 1);
    expect(once).toHaveLength(1);
    // 2560 / 1.6 + 500
    expect(once[0].total_value).toBe('2100');
  });

  it('a currency without a path, or a pair without a price, counts as 0 and is stale', () => {
    const { e } = engine();
    e.load(
      [asset('EURUSD', null, null, 'FOREX', null), asset('AAPL', '200', '200'), asset('VOLV', '10', '10')],
      [row(1, 'EUR', 'AAPL', 'USD', '1'), row(2, 'USD', 'VOLV', 'SEK', '3'), row(2, 'USD', 'AAPL', 'USD', '1')],
    );
    expect(e.valuation(1, T)).toMatchObject({ total_value: '0', stale: true, positions_count: 1 });
    expect(e.valuation(2, T)).toMatchObject({ total_value: '200', stale: true, positions_count: 2 });
    // The pair gets its first price: the portfolio is converted and fresh.
    e.applyPrices([tick('EURUSD', '1.25', T)]);
    expect(e.valuation(1, T)).toMatchObject({ total_value: '160', stale: false });
    // The pair goes stale: so does the valuation.
    expect(e.valuation(1, T + STALE_MS + 1_000)!.stale).toBe(true);
  });

  it('a reload moves holdings between legs; a removal leaves no leg behind', async () => {
    const { e, seen } = loaded();
    // P2 switches its base currency to EUR.
    await e.reload(2, true, async () => [row(2, 'EUR', 'AAPL', 'USD', '10')]);
    expect(seen.at(-1)![0]).toMatchObject({ portfolio_id: 2, total_value: '1600' });
    // P1 becomes a USD portfolio: SAP converts the other way now (5 × 100 × 1.25).
    await e.reload(1, false, async () => [row(1, 'USD', 'AAPL', 'USD', '10'), row(1, 'USD', 'SAP', 'EUR', '5')]);
    expect(e.valuation(1, T)!.total_value).toBe('2625');
    e.remove(3);
    e.remove(1);
    seen.length = 0;
    expect(e.applyPrices([tick('EURUSD', '2', T)])).toBe(1);
    expect(seen[0].map((v) => [v.portfolio_id, v.total_value])).toEqual([[2, '1000']]);
    expect(e.stats()).toEqual({ portfolios: 1, positions: 1, symbols: 4 });
  });

  it('rounds a converted price to 8 places, and the REST valuation agrees digit for digit', () => {
    const { e } = engine();
    e.load([asset('GBPUSD', '1.3', '1.25', 'FOREX'), asset('ONE', '1', '1.1')], [row(1, 'GBP', 'ONE', 'USD', '3')]);
    // 1 / 1.3 = 0.769230769… → 0.76923077; 1.1 / 1.25 = 0.88.
    const live = e.valuation(1, T)!;
    expect(live).toMatchObject({ total_value: '2.30769231', daily_change: '-0.33230769' });
    const position: PositionRow = {
      id: 1,
      portfolio_id: 1,
      quantity: '3',
      average_cost: '1',
      created_at: new Date(T),
      updated_at: new Date(T),
      symbol: 'ONE',
      name: 'One',
      asset_type: 'STOCK',
      currency: 'USD',
      current_price: '1',
      previous_close: '1.1',
      last_updated: new Date(T - 1_000),
    };
    const rest = toPortfolioJson(
      { id: 1, owner_id: 1, name: 'P1', description: '', base_currency: 'GBP', created_at: new Date(T), updated_at: new Date(T) },
      [position],
      {
        withPositions: true,
        nowMs: T,
        updateIntervalSeconds: 30,
        fx: new FxQuotes([{ symbol: 'GBPUSD', current_price: '1.3', previous_close: '1.25', last_updated: new Date(T - 1_000) }]),
      },
    );
    expect(rest).toMatchObject({
      total_value: live.total_value,
      daily_change: live.daily_change,
      daily_change_percent: live.daily_change_percent,
      stale: false,
    });
    // Cost at today's rate: 3 × 0.76923077; each position's own figures stay in dollars.
    expect(rest).toMatchObject({ cost_basis: '2.30769231', unrealized_gain: '0' });
    expect(rest.positions![0]).toMatchObject({ market_value: '3', currency: 'USD' });
  });
});
