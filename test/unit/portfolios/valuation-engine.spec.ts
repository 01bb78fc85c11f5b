import { describe, expect, it } from 'vitest';
import type { PriceTick } from '../../../src/bus/bus.messages';
import { HoldingRow, SymbolPriceRow, ValuationEngine } from '../../../src/portfolios/valuation/valuation-engine';
import type { PortfolioValuation } from '../../../src/portfolios/valuation/valuation.types';
import { valuePortfolio } from '../../../src/portfolios/valuation/valuation.math';

/**
 * ValuationEngine on its own: rows in, ticks in, valuations and notifications out. No database,
 * no bus, no Nest. (The property test checks the arithmetic against full recounts at random;
 * these pin each behaviour down by hand.)
 */

const STALE_MS = 90_000;
const T = Date.UTC(2026, 10, 25, 12, 0, 0); // a fixed "now" for valuation(id, now)
const iso = (ms: number) => new Date(ms).toISOString();

/** An engine with a log that records instead of printing. */
function engine() {
  const warnings: string[] = [];
  const errors: string[] = [];
  const e = new ValuationEngine({ staleMs: STALE_MS, log: { warn: (m) => void warnings.push(m), error: (m) => void errors.push(m) } });
  const seen: PortfolioValuation[][] = [];
  e.onChange((c) => seen.push(c));
  return { e, seen, warnings, errors };
}

const asset = (symbol: string, price: string | null, asOf: number | null, prev: string | null = price): SymbolPriceRow => ({
  symbol,
  current_price: price,
  previous_close: prev,
  last_updated: asOf === null ? null : new Date(asOf),
});

const row = (portfolio_id: number, symbol: string | null, quantity: string | null, owner_id = 1): HoldingRow => ({
  portfolio_id,
  owner_id,
  name: `P${portfolio_id}`,
  symbol,
  quantity,
});

/** A reload row: with the asset's prices, as the one-portfolio read returns them. */
const priced = (r: HoldingRow, price: string | null, asOf: number | null, prev: string | null = price): HoldingRow => ({
  ...r,
  current_price: price,
  previous_close: prev,
  last_updated: asOf === null ? null : new Date(asOf),
});

const tick = (symbol: string, price: string, asOf: number | string, previous_close: string | null = null): PriceTick => ({
  symbol,
  price,
  previous_close,
  high: null,
  low: null,
  volume: null,
  as_of: typeof asOf === 'number' ? iso(asOf) : asOf,
  source: 'test',
});

/** A read whose answer the test gives later. */
function pendingRead() {
  const calls: { id: number; answer: (rows: HoldingRow[]) => void; fail: (err: unknown) => void }[] = [];
  const read = (id: number) =>
    new Promise<HoldingRow[]>((resolve, reject) => {
      calls.push({ id, answer: resolve, fail: reject });
    });
  return { read, calls };
}

/** Lets settled promises run their continuations (bounded). */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('ValuationEngine: load', () => {
  it('values every portfolio from its rows, exactly, with owner, name, count and as_of', () => {
    const { e } = engine();
    e.load(
      [asset('A', '0.1', T - 1_000), asset('B', '420.5', T - 5_000, '400'), asset('C', '7', T - 2_000)],
      [row(1, 'A', '3'), row(1, 'B', '0.1'), row(2, null, null, 9), row(3, 'C', '1000000000000')],
    );
    expect(e.valuation(1, T)).toEqual({
      portfolio_id: 1,
      owner_id: 1,
      name: 'P1',
      total_value: '42.35', // 3 × 0.1 + 0.1 × 420.5 = 0.3 + 42.05
      daily_change: '2.05', // 0.1 × (420.5 − 400)
      daily_change_percent: '5.0868', // 2.05 / (3 × 0.1 + 0.1 × 400) = 2.05 / 40.3
      positions_count: 2,
      as_of: iso(T - 1_000), // the newest of its prices
      stale: false,
    });
    // An empty portfolio: one row without a symbol; worth 0, as of now, not stale.
    expect(e.valuation(2, T)).toEqual({
      portfolio_id: 2,
      owner_id: 9,
      name: 'P2',
      total_value: '0',
      daily_change: '0',
      daily_change_percent: '0',
      positions_count: 0,
      as_of: iso(T),
      stale: false,
    });
    expect(e.valuation(3, T)).toMatchObject({ total_value: '7000000000000', positions_count: 1 }); // beyond the Number limbs
    expect(e.valuation(4, T)).toBeNull();
    expect(e.stats()).toEqual({ portfolios: 3, positions: 3, symbols: 3 });
  });

  it('counts a symbol without a price, or never updated, as a doubt: stale (and 0 when unpriced)', () => {
    const { e } = engine();
    e.load(
      [asset('A', '10', T - 1_000), asset('N', '5', null), asset('U', null, null)],
      [row(1, 'A', '1'), row(1, 'N', '2'), row(2, 'A', '1'), row(2, 'U', '4'), row(3, 'X', '1')],
    );
    expect(e.valuation(1, T)).toMatchObject({ total_value: '20', stale: true, as_of: iso(T - 1_000) });
    expect(e.valuation(2, T)).toMatchObject({ total_value: '10', stale: true });
    // A symbol the assets read did not list: added unpriced.
    expect(e.valuation(3, T)).toMatchObject({ total_value: '0', stale: true, positions_count: 1 });
    expect(e.stats().symbols).toBe(4);
  });

  it('refuses ids that are not 32-bit integers (the output keeps them in Int32Arrays)', () => {
    const { e } = engine();
    expect(() => e.load([], [row(2 ** 31, null, null)])).toThrow(RangeError);
    const { e: e2 } = engine();
    expect(() => e2.load([], [row(1, null, null, 2 ** 31)])).toThrow(/32-bit/);
  });
});

describe('ValuationEngine: price batches', () => {
  const now = Date.now();
  const loaded = () => {
    const x = engine();
    x.e.load(
      [asset('A', '10', now - 10_000), asset('B', '20', now - 10_000), asset('C', '30', now - 10_000)],
      [row(1, 'A', '1'), row(1, 'B', '1'), row(2, 'B', '2'), row(3, 'C', '3')],
    );
    return x;
  };

  it('revalues and notifies the holders of the changed symbols only, each once per batch', () => {
    const { e, seen } = loaded();
    expect(e.applyPrices([tick('A', '11', now), tick('B', '21', now)])).toBe(2);
    expect(seen).toHaveLength(1);
    expect(seen[0].map((v) => [v.portfolio_id, v.total_value, v.daily_change])).toEqual([
      [1, '32', '2'],
      [2, '42', '2'],
    ]);
    expect(e.applyPrices([tick('Z', '1', now)])).toBe(0); // nobody holds Z
    expect(seen).toHaveLength(1);
    expect(e.stats().symbols).toBe(4); // …but its price is kept
  });

  it('with an interest filter notifies only watched portfolios, and keeps the others exact', () => {
    const { e, seen } = loaded();
    e.setInterest((id) => id === 2);
    expect(e.applyPrices([tick('B', '25', now)])).toBe(2);
    expect(seen.flat().map((v) => v.portfolio_id)).toEqual([2]);
    expect(e.valuation(1)).toMatchObject({ total_value: '35' }); // not notified, still revalued
    e.setInterest((id) => id === 99);
    e.applyPrices([tick('B', '26', now + 1)]);
    expect(seen).toHaveLength(1); // nothing watched: no empty notification
    e.setInterest(null);
    e.applyPrices([tick('B', '27', now + 2)]);
    expect(seen[1].map((v) => v.portfolio_id)).toEqual([1, 2]);
  });

  it('never rolls a price back, ignores non-positive prices, skips a malformed tick (logged) and applies the rest', () => {
    const { e, seen, warnings } = loaded();
    e.applyPrices([tick('A', '12', now)]);
    expect(e.applyPrices([tick('A', '5', now - 1)])).toBe(0); // older than what we have
    expect(e.applyPrices([tick('A', '0', now + 1), tick('A', '-3', now + 1)])).toBe(0);
    expect(e.valuation(1)).toMatchObject({ total_value: '32' });
    expect(e.applyPrices([tick('A', 'twelve', now + 2), tick('C', '31', now + 2)])).toBe(1);
    expect(warnings).toEqual(['Ignored malformed tick for A']);
    expect(e.valuation(3)).toMatchObject({ total_value: '93' });
    expect(seen.map((c) => c.map((v) => v.portfolio_id))).toEqual([[1], [3]]);
  });

  it('keeps the known previous close when a tick has none, and follows it when it has one', () => {
    const { e } = loaded();
    e.applyPrices([tick('C', '33', now)]);
    expect(e.valuation(3)).toMatchObject({ total_value: '99', daily_change: '9', daily_change_percent: '10' });
    e.applyPrices([tick('C', '33', now + 1, '32')]);
    expect(e.valuation(3)).toMatchObject({ total_value: '99', daily_change: '3', daily_change_percent: '3.125' });
  });

  it('stays exact on the BigInt path (huge quantity, huge jump) and back on the fast one', () => {
    const { e } = engine();
    e.load([asset('A', '0.1', now - 1_000)], [row(1, 'A', '99999999999.99999999'), row(2, 'A', '0.3')]);
    e.applyPrices([tick('A', '90000000.12345678', now)]);
    expect(e.valuation(1)!.total_value).toBe('9000000012345677999.0999999987654322');
    expect(e.valuation(2)!.total_value).toBe('27000000.037037034');
    e.applyPrices([tick('A', '0.2', now + 1)]);
    expect(e.valuation(1)!.total_value).toBe('19999999999.999999998');
    expect(e.valuation(2)!.total_value).toBe('0.06');
  });

  it('keeps calling the other listeners when one throws, and logs it', () => {
    const { e, seen, errors } = loaded();
    e.onChange(() => {
      throw new Error('listener broke');
    });
    const after: number[] = [];
    e.onChange((c) => void after.push(c.length));
    e.applyPrices([tick('C', '31', now)]);
    expect(seen).toHaveLength(1);
    expect(after).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Valuation listener failed: Error: listener broke/);
  });

  it('stops notifying a listener once it unsubscribes, or after clearListeners', () => {
    const { e, seen } = loaded();
    const mine: number[] = [];
    const off = e.onChange((c) => void mine.push(c.length));
    e.applyPrices([tick('C', '31', now)]);
    off();
    e.applyPrices([tick('C', '32', now + 1)]);
    expect(mine).toEqual([1]);
    expect(seen).toHaveLength(2);
    e.clearListeners();
    e.applyPrices([tick('C', '33', now + 2)]);
    expect(seen).toHaveLength(2);
    expect(e.valuation(3)).toMatchObject({ total_value: '99' });
  });
});

describe('ValuationEngine: reloads (generations)', () => {
  const now = Date.now();
  const loaded = () => {
    const x = engine();
    x.e.load([asset('A', '10', now - 1_000), asset('B', '20', now - 1_000)], [row(1, 'A', '1'), row(2, 'B', '1')]);
    return x;
  };

  it('applies the rows read, answers the new valuation, and notifies only when asked (never narrowed by the interest filter)', async () => {
    const { e, seen } = loaded();
    e.setInterest(() => false);
    const v = await e.reload(1, true, async (id) => [priced(row(id, 'A', '2'), '10', now - 1_000), priced(row(id, 'B', '0.5'), '20', now - 1_000)]);
    expect(v).toMatchObject({ portfolio_id: 1, total_value: '30', positions_count: 2 });
    expect(seen).toEqual([[v]]);
    const quiet = await e.reload(2, false, async (id) => [priced(row(id, 'B', '3'), '20', now - 1_000)]);
    expect(quiet).toMatchObject({ total_value: '60' });
    expect(seen).toHaveLength(1);
    expect(e.stats()).toEqual({ portfolios: 2, positions: 3, symbols: 2 });
    // The reloaded portfolio follows later ticks of its new symbols.
    e.setInterest(null);
    e.applyPrices([tick('B', '22', now)]);
    expect(seen[1].map((x) => [x.portfolio_id, x.total_value])).toEqual([
      [1, '31'],
      [2, '66'],
    ]);
  });

  it('uses the prices it knows over those in the rows; a symbol it does not know takes the row’s prices', async () => {
    const { e } = loaded();
    e.applyPrices([tick('A', '12', now)]);
    const v = await e.reload(1, false, async (id) => [priced(row(id, 'A', '1'), '10', now - 1_000), priced(row(id, 'NEW', '2'), '5', now - 1_000, '4')]);
    expect(v).toMatchObject({ total_value: '22', daily_change: '4' }); // 1 × 12 + 2 × 5; (12 − 10) + 2 × (5 − 4)
  });

  it('answers null for a portfolio that does not exist, and drops one the read no longer finds (no notification)', async () => {
    const { e, seen } = loaded();
    expect(await e.reload(42, true, async () => [])).toBeNull();
    expect(await e.reload(1, true, async () => [])).toBeNull();
    expect(e.valuation(1)).toBeNull();
    expect(seen).toEqual([]);
    expect(e.applyPrices([tick('A', '11', now)])).toBe(0);
  });

  it('a notifying reload superseded by a quiet one (a snapshot) still notifies once, with the newest rows, when the newest applies first', async () => {
    const { e, seen } = loaded();
    const { read, calls } = pendingRead();
    const announced = e.reload(1, true, read);
    const snapshot = e.reload(1, false, read);
    expect(calls.map((c) => c.id)).toEqual([1, 1]);
    calls[1].answer([priced(row(1, 'A', '5'), '10', now - 1_000)]);
    const newest = await snapshot;
    expect(newest).toMatchObject({ total_value: '50' });
    expect(seen).toEqual([[newest]]);
    calls[0].answer([priced(row(1, 'A', '4'), '10', now - 1_000)]); // older rows: dropped
    expect(await announced).toEqual(newest);
    expect(seen).toHaveLength(1);
    expect(e.valuation(1)).toMatchObject({ total_value: '50' });
  });

  it('…and when the superseded read answers first: it waits for the newest and answers its result', async () => {
    const { e, seen } = loaded();
    const { read, calls } = pendingRead();
    let announcedValue: PortfolioValuation | null | undefined;
    void e.reload(1, true, read).then((v) => void (announcedValue = v));
    const snapshot = e.reload(1, false, read);
    calls[0].answer([priced(row(1, 'A', '4'), '10', now - 1_000)]);
    await flush();
    expect(announcedValue).toBeUndefined(); // waiting for the newest
    expect(seen).toEqual([]);
    expect(e.valuation(1)).toMatchObject({ total_value: '10' }); // unchanged so far
    calls[1].answer([priced(row(1, 'A', '5'), '10', now - 1_000)]);
    const newest = await snapshot;
    await flush();
    expect(announcedValue).toEqual(newest);
    expect(seen).toEqual([[newest]]);
  });

  it('two quiet reloads notify nothing; two notifying ones notify once', async () => {
    const { e, seen } = loaded();
    const { read, calls } = pendingRead();
    const a = e.reload(1, false, read);
    const b = e.reload(1, false, read);
    calls[0].answer([priced(row(1, 'A', '2'), '10', now - 1_000)]);
    calls[1].answer([priced(row(1, 'A', '3'), '10', now - 1_000)]);
    expect([(await a)?.total_value, (await b)?.total_value]).toEqual(['30', '30']);
    expect(seen).toEqual([]);
    const c = e.reload(1, true, read);
    const d = e.reload(1, true, read);
    calls[3].answer([priced(row(1, 'A', '7'), '10', now - 1_000)]);
    calls[2].answer([priced(row(1, 'A', '6'), '10', now - 1_000)]);
    expect([(await c)?.total_value, (await d)?.total_value]).toEqual(['70', '70']);
    expect(seen.flat().map((v) => v.total_value)).toEqual(['70']);
  });

  it('a failed read rejects and leaves the portfolio as it was; the next reload works', async () => {
    const { e, seen } = loaded();
    await expect(e.reload(1, true, () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(e.valuation(1)).toMatchObject({ total_value: '10' });
    expect(seen).toEqual([]);
    await e.reload(1, true, async () => [priced(row(1, 'A', '2'), '10', now - 1_000)]);
    expect(seen.flat().map((v) => v.total_value)).toEqual(['20']);
  });
});

describe('ValuationEngine: removal', () => {
  const now = Date.now();

  it('drops the portfolio without a notification; its symbols no longer touch it; its slot serves the next one cleanly', async () => {
    const { e, seen } = engine();
    e.load([asset('A', '10', now - 1_000), asset('B', '20', now - 1_000)], [row(1, 'A', '1000000000000'), row(2, 'B', '1')]);
    e.remove(1);
    e.remove(1); // twice: nothing more
    e.remove(77); // never known: nothing
    expect(e.valuation(1)).toBeNull();
    expect(seen).toEqual([]);
    expect(e.stats()).toEqual({ portfolios: 1, positions: 1, symbols: 2 });
    expect(e.applyPrices([tick('A', '11', now)])).toBe(0);
    // A new portfolio (reusing the freed slot) starts from its own rows only.
    const v = await e.reload(3, false, async () => [priced(row(3, 'A', '2'), '10', now - 1_000)]);
    expect(v).toMatchObject({ portfolio_id: 3, total_value: '22', daily_change: '2', positions_count: 1 });
    expect(e.applyPrices([tick('A', '12', now + 1)])).toBe(1);
    expect(seen.flat().map((x) => [x.portfolio_id, x.total_value])).toEqual([[3, '24']]);
  });

  it('a reload still reading when the portfolio is deleted does not bring it back, nor announce it', async () => {
    const { e, seen } = engine();
    e.load([asset('A', '10', now - 1_000)], [row(1, 'A', '1')]);
    const { read, calls } = pendingRead();
    const announced = e.reload(1, true, read);
    e.remove(1);
    calls[0].answer([priced(row(1, 'A', '1'), '10', now - 1_000)]); // read before the delete committed
    expect(await announced).toBeNull();
    expect(e.valuation(1)).toBeNull();
    expect(seen).toEqual([]);
    // A later reload that is not a notifying one does not announce the old request either.
    await e.reload(1, false, async () => [priced(row(1, 'A', '3'), '10', now - 1_000)]);
    expect(seen).toEqual([]);
  });
});

describe('ValuationEngine: staleness', () => {
  it('is fresh while the oldest price is at most staleMs old, and stale after', () => {
    const { e } = engine();
    e.load([asset('A', '10', T - 10_000), asset('B', '20', T - 50_000)], [row(1, 'A', '1'), row(1, 'B', '1')]);
    expect(e.valuation(1, T)).toMatchObject({ stale: false, as_of: iso(T - 10_000) });
    expect(e.valuation(1, T - 50_000 + STALE_MS)!.stale).toBe(false); // exactly the limit
    expect(e.valuation(1, T - 50_000 + STALE_MS + 1)!.stale).toBe(true);
  });

  it('turns fresh again when its oldest symbol ticks (the lower bound is recounted), and stale when a first tick is old', () => {
    const { e } = engine();
    e.load(
      [asset('A', '10', T - 10_000), asset('B', '20', T - 200_000), asset('N', '5', null)],
      [row(1, 'A', '1'), row(1, 'B', '1'), row(2, 'A', '1'), row(2, 'N', '1')],
    );
    expect(e.valuation(1, T)!.stale).toBe(true);
    e.applyPrices([tick('B', '21', T - 5_000)]);
    expect(e.valuation(1, T)).toMatchObject({ stale: false, as_of: iso(T - 5_000), total_value: '31' });
    expect(e.valuation(1, T - 10_000 + STALE_MS + 1)!.stale).toBe(true); // now A is the oldest
    // Never updated: stale until its first tick, which may itself be too old.
    expect(e.valuation(2, T)!.stale).toBe(true);
    e.applyPrices([tick('N', '6', T - 100_000)]);
    expect(e.valuation(2, T)).toMatchObject({ stale: true, total_value: '16', as_of: iso(T - 10_000) });
    e.applyPrices([tick('N', '7', T - 1_000)]);
    expect(e.valuation(2, T)).toMatchObject({ stale: false, total_value: '17', as_of: iso(T - 1_000) });
  });

  it('is stale while a position has no price, and counts it as 0 until its first price', () => {
    const { e } = engine();
    e.load([asset('A', '10', T - 1_000), asset('U', null, null)], [row(1, 'A', '1'), row(1, 'U', '3')]);
    expect(e.valuation(1, T)).toMatchObject({ stale: true, total_value: '10', daily_change: '0' });
    e.applyPrices([tick('U', '2', T - 500, '1')]);
    expect(e.valuation(1, T)).toMatchObject({ stale: false, total_value: '16', daily_change: '3', as_of: iso(T - 500) });
  });

  it('falls back to its clock for an unreadable as_of, and recounts newest when that moves a symbol back', () => {
    const { e } = engine();
    const now = Date.now();
    e.load([asset('A', '10', now - 1_000), asset('B', '20', now - 1_000)], [row(1, 'A', '1'), row(1, 'B', '1')]);
    e.applyPrices([tick('A', '11', now + 60_000), tick('B', '21', now + 30_000)]);
    expect(e.valuation(1)!.as_of).toBe(iso(now + 60_000));
    e.applyPrices([tick('A', '12', 'not a time')]);
    const v = e.valuation(1)!;
    expect(v.as_of).toBe(iso(now + 30_000)); // B's, now the newest
    expect(v.total_value).toBe('33');
  });
});

describe('ValuationEngine: positions', () => {
  it('values each position like the REST API (valuePortfolio), in position order, from the current prices', () => {
    const { e } = engine();
    e.load(
      [asset('AAA', '10.5', T, '10'), asset('BBB', null, null), asset('CCC', '3', T, null)],
      [row(1, 'AAA', '2.5'), row(1, 'BBB', '4'), row(1, 'CCC', '1000000000000')],
    );
    e.applyPrices([tick('AAA', '11', T + 1000)]);
    const positions = e.positions(1)!;
    const rest = valuePortfolio([
      { quantity: '2.5', price: '11', previous_close: '10' },
      { quantity: '4', price: null, previous_close: null },
      { quantity: '1000000000000', price: '3', previous_close: null },
    ]).positions;
    expect(positions.map((p) => p.symbol)).toEqual(['AAA', 'BBB', 'CCC']);
    positions.forEach((p, i) => {
      expect(p).toMatchObject({ market_value: rest[i].market_value, daily_change: rest[i].daily_change, daily_change_percent: rest[i].daily_change_percent });
    });
    expect(positions[0]).toEqual({
      symbol: 'AAA',
      quantity: '2.5',
      current_price: '11',
      previous_close: '10',
      market_value: '27.5',
      daily_change: '2.5',
      daily_change_percent: '10',
      as_of: iso(T + 1000),
    });
    expect(positions[1]).toMatchObject({ current_price: null, previous_close: null, market_value: '0', as_of: null });
    expect(positions[2]).toMatchObject({ market_value: '3000000000000', daily_change: '0', previous_close: null });
    expect(e.positions(99)).toBeNull();
  });
});
