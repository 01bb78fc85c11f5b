import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PriceTick } from '../../../src/bus/bus.messages';
import { HoldingRow, SymbolPriceRow, ValuationEngine } from '../../../src/portfolios/valuation/valuation-engine';
import { staleAfterMs } from '../../../src/common/staleness';
import { valuePortfolio } from '../../../src/portfolios/valuation/valuation.math';
import type { PortfolioValuation } from '../../../src/portfolios/valuation/valuation.types';

/**
 * Property test of the engine's incremental arithmetic (its fast Number-limb
 * path, its BigInt path and the switch between them): after every random
 * price batch, every portfolio's live figures must equal a full recount by
 * valuation.math from the same prices. Drives ValuationEngine directly: its
 * start state and reloads are rows built here, its ticks are applied as the
 * service applies a 'prices.committed' batch (the e2e suite covers the real
 * database and bus).
 */
let seed = 20261125;
const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];

function decimal(maxInt: number, maxDp = 8): string {
  const int = Math.floor(rnd() * maxInt);
  const dp = Math.floor(rnd() * (maxDp + 1));
  const frac = dp === 0 ? '' : '.' + Array.from({ length: dp }, () => Math.floor(rnd() * 10)).join('');
  const s = `${int}${frac}`;
  return /^0(\.0*)?$/.test(s) ? '0.00000001' : s;
}

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
const QUANTITIES = () => pick([decimal(10), decimal(1000), decimal(100_000_000), '0.00000001', '99999999.99999999', decimal(10_000_000_000_000, 2)]);
const PRICES = () => pick([decimal(5), decimal(500), decimal(100_000), decimal(90_000_000), '0.00000001', '1']);

/** An engine as the service builds it for REALTIME_UPDATE_INTERVAL=30 (stale after 90 s). */
const newEngine = () => new ValuationEngine({ staleMs: staleAfterMs(30) });

describe('ValuationEngine arithmetic (property test against valuation.math)', () => {
  it('matches a full recount after every one of 300 random batches', () => {
    const prices = new Map<string, { price: string; prev: string }>(SYMBOLS.map((s) => [s, { price: PRICES(), prev: PRICES() }]));
    const portfolios = Array.from({ length: 40 }, (_, i) => ({
      id: i + 1,
      holdings: SYMBOLS.filter(() => rnd() < 0.5).map((symbol) => ({ symbol, quantity: QUANTITIES() })),
    }));
    const t0 = new Date(Date.now() - 1000);
    const engine = newEngine();
    engine.load(
      SYMBOLS.map((symbol): SymbolPriceRow => ({
        symbol,
        current_price: prices.get(symbol)!.price,
        previous_close: prices.get(symbol)!.prev,
        last_updated: t0,
      })),
      portfolios.flatMap((p): HoldingRow[] =>
        p.holdings.length === 0
          ? [{ portfolio_id: p.id, owner_id: 1, name: `P${p.id}`, symbol: null, quantity: null }]
          : p.holdings.map((h) => ({ portfolio_id: p.id, owner_id: 1, name: `P${p.id}`, symbol: h.symbol, quantity: h.quantity })),
      ),
    );

    const expected = (id: number) => {
      const p = portfolios.find((x) => x.id === id)!;
      return valuePortfolio(p.holdings.map((h) => ({ quantity: h.quantity, price: prices.get(h.symbol)!.price, previous_close: prices.get(h.symbol)!.prev })));
    };
    const check = (label: string) => {
      for (const p of portfolios) {
        const v = engine.valuation(p.id)!;
        const e = expected(p.id);
        expect({ label, id: p.id, total: v.total_value, change: v.daily_change, pct: v.daily_change_percent }).toEqual({
          label,
          id: p.id,
          total: e.total_value,
          change: e.daily_change,
          pct: e.daily_change_percent,
        });
      }
    };
    check('initial');

    let clock = Date.now();
    for (let round = 0; round < 300; round++) {
      const ticks: PriceTick[] = [];
      for (const symbol of SYMBOLS.filter(() => rnd() < 0.6)) {
        const cur = prices.get(symbol)!;
        // Small moves (fast path), big jumps (BigInt path), and occasional previous-close roll-overs.
        const price = rnd() < 0.7 ? (Number(cur.price) * (1 + (rnd() - 0.5) / 50)).toFixed(8).replace(/\.?0+$/, '') || '0.00000001' : PRICES();
        const next = { price: Number(price) > 0 ? price : '0.00000001', prev: rnd() < 0.1 ? PRICES() : cur.prev };
        prices.set(symbol, next);
        clock += 10;
        ticks.push({
          symbol,
          price: next.price,
          previous_close: next.prev,
          high: null,
          low: null,
          volume: null,
          as_of: new Date(clock).toISOString(),
          source: 'test',
        });
      }
      if (ticks.length === 0) continue;
      let notified = 0;
      const off = engine.onChange(() => void notified++);
      engine.applyPrices(ticks);
      off();
      expect(notified).toBe(1);
      check(`round ${round}`);
    }
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * The whole published valuation (figures, positions_count, as_of, stale) against a reference model
   * that recomputes everything from scratch, while the clock moves (staleness flips both ways), symbols
   * are unpriced or have never been updated, ticks arrive late (ignored), early, future-stamped or
   * with an unreadable as_of (engine falls back to now), and portfolios are edited, emptied, created
   * and deleted through 'portfolio.changed'. Checks every emitted batch (which portfolios and their
   * contents) and every snapshot.
   */
  it('publishes the same as_of, stale, positions_count and figures as a full recount, across edits and clock moves', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let now = Date.UTC(2026, 10, 25, 12, 0, 0);
    vi.setSystemTime(now);
    const STALE_MS = 3 * 30 * 1000; // 3 × REALTIME_UPDATE_INTERVAL
    const syms = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH', 'III', 'JJJ', 'KKK'];
    type Sym = { price: string | null; prev: string | null; asOf: number };
    const market = new Map<string, Sym>();
    for (const [i, s] of syms.entries()) {
      // AAA..: priced and updated; GGG, III, JJJ: priced but never updated (no last_updated); HHH: no price at all.
      if (s === 'HHH') market.set(s, { price: null, prev: null, asOf: NaN });
      else if (s === 'KKK')
        market.set(s, { price: null, prev: null, asOf: now - 5_000 }); // no price, yet a last_updated
      else if (s === 'GGG' || s === 'III' || s === 'JJJ') market.set(s, { price: PRICES(), prev: PRICES(), asOf: NaN });
      else market.set(s, { price: PRICES(), prev: rnd() < 0.2 ? null : PRICES(), asOf: now - i * 20_000 });
    }
    type Port = { id: number; owner: number; holdings: { symbol: string; quantity: string }[] };
    const randomHoldings = () => syms.filter(() => rnd() < 0.35).map((symbol) => ({ symbol, quantity: QUANTITIES() }));
    let ports: Port[] = Array.from({ length: 30 }, (_, i) => ({ id: i + 1, owner: 1 + (i % 3), holdings: i % 7 === 0 ? [] : randomHoldings() }));
    let nextId = ports.length + 1;
    const iso = (ms: number) => new Date(ms).toISOString();
    type Row = HoldingRow;
    const rowsOf = (p: Port, withPrices: boolean): Row[] => {
      const base = { portfolio_id: p.id, owner_id: p.owner, name: `P${p.id}` };
      if (p.holdings.length === 0) return [{ ...base, symbol: null, quantity: null }];
      return p.holdings.map((h) => {
        const m = market.get(h.symbol)!;
        return withPrices
          ? {
              ...base,
              symbol: h.symbol,
              quantity: h.quantity,
              current_price: m.price,
              previous_close: m.prev,
              last_updated: Number.isFinite(m.asOf) ? new Date(m.asOf) : null,
            }
          : { ...base, symbol: h.symbol, quantity: h.quantity };
      });
    };
    /** What a reload reads: the portfolio with its assets' current prices ([] once deleted). */
    const read = async (id: number): Promise<Row[]> => {
      const p = ports.find((x) => x.id === id);
      return p ? rowsOf(p, true) : [];
    };
    const engine = newEngine();
    const emitted: PortfolioValuation[][] = [];
    engine.load(
      syms.map((symbol): SymbolPriceRow => {
        const m = market.get(symbol)!;
        return { symbol, current_price: m.price, previous_close: m.prev, last_updated: Number.isFinite(m.asOf) ? new Date(m.asOf) : null };
      }),
      ports.flatMap((p) => rowsOf(p, false)),
    );
    engine.onChange((c) => emitted.push(c));
    /** As the service answers a snapshot: the engine's valuation, or a read of a portfolio it does not hold yet. */
    const snapshot = async (id: number) => engine.valuation(id) ?? (await engine.reload(id, false, read));

    const reference = (p: Port): PortfolioValuation => {
      const f = valuePortfolio(
        p.holdings.map((h) => ({ quantity: h.quantity, price: market.get(h.symbol)!.price, previous_close: market.get(h.symbol)!.prev })),
      );
      const times = p.holdings.map((h) => market.get(h.symbol)!.asOf);
      const known = times.filter((t) => Number.isFinite(t));
      const stale =
        p.holdings.some((h) => market.get(h.symbol)!.price === null) ||
        known.length < times.length ||
        (p.holdings.length > 0 && now - Math.min(...known) > STALE_MS);
      return {
        portfolio_id: p.id,
        owner_id: p.owner,
        name: `P${p.id}`,
        total_value: f.total_value,
        daily_change: f.daily_change,
        daily_change_percent: f.daily_change_percent,
        positions_count: p.holdings.length,
        as_of: known.length > 0 ? iso(Math.max(...known)) : iso(now),
        stale,
      };
    };
    const checkAll = async (label: string) => {
      for (const p of ports) expect({ label, v: await snapshot(p.id) }).toEqual({ label, v: reference(p) });
    };
    await checkAll('initial');

    let flips = 0;
    let lastStale = new Map(ports.map((p) => [p.id, reference(p).stale]));
    for (let round = 0; round < 400; round++) {
      // Move the clock: mostly a little, sometimes past the stale limit.
      now += rnd() < 0.15 ? 60_000 + Math.floor(rnd() * 60_000) : Math.floor(rnd() * 5_000);
      vi.setSystemTime(now);
      const action = rnd();
      emitted.length = 0;
      if (action < 0.7) {
        // A price batch over a few symbols; in most batches the ticks share one as_of (as the feed's do).
        const shared = rnd() < 0.7;
        const batchAsOf = now - Math.floor(rnd() * 3_000);
        const ticks: PriceTick[] = [];
        const applied = new Set<string>();
        for (const symbol of syms.filter(() => rnd() < 0.4)) {
          const m = market.get(symbol)!;
          const r = rnd();
          let asOfText: string;
          if (!Number.isFinite(m.asOf) && r < 0.5)
            asOfText = iso(now - 100_000 - Math.floor(rnd() * 100_000)); // first time, already old
          else if (shared) asOfText = iso(batchAsOf);
          else if (r < 0.1)
            asOfText = iso(m.asOf - 5_000 || now - 500_000); // late: older than what is known (ignored)
          else if (r < 0.2)
            asOfText = iso(now + 30_000); // stamped in the future
          else if (r < 0.25)
            asOfText = 'not a time'; // unreadable: the engine uses its clock
          else if (r < 0.35)
            asOfText = iso(now - 200_000); // already stale when it arrives
          else asOfText = iso(now - Math.floor(rnd() * 2_000));
          const parsed = Date.parse(asOfText);
          const price = m.price && rnd() < 0.7 ? (Number(m.price) * (1 + (rnd() - 0.5) / 50)).toFixed(8).replace(/\.?0+$/, '') : PRICES();
          const next = Number(price) > 0 ? price : '0.00000001';
          const prevText = rnd() < 0.15 ? null : rnd() < 0.1 ? PRICES() : m.prev;
          ticks.push({ symbol, price: next, previous_close: prevText, high: null, low: null, volume: null, as_of: asOfText, source: 'test' });
          if (parsed < m.asOf) continue; // the engine never rolls a price back
          market.set(symbol, { price: next, prev: prevText === null ? m.prev : prevText, asOf: Number.isFinite(parsed) ? parsed : now });
          applied.add(symbol);
        }
        if (ticks.length === 0) continue;
        engine.applyPrices(ticks);
        const touched = ports.filter((p) => p.holdings.some((h) => applied.has(h.symbol)));
        const got = emitted.flat();
        expect({ round, ids: got.map((v) => v.portfolio_id).sort((a, b) => a - b) }).toEqual({ round, ids: touched.map((p) => p.id).sort((a, b) => a - b) });
        for (const v of got) expect({ round, v }).toEqual({ round, v: reference(ports.find((p) => p.id === v.portfolio_id)!) });
      } else if (action < 0.9) {
        // Edit a portfolio: change a quantity, add or remove a position, or empty it.
        const p = pick(ports);
        const r = rnd();
        if (r < 0.2) p.holdings = [];
        else if (r < 0.5 && p.holdings.length > 0) p.holdings.splice(Math.floor(rnd() * p.holdings.length), 1);
        else if (r < 0.75 && p.holdings.length > 0) pick(p.holdings).quantity = QUANTITIES();
        else {
          const free = syms.filter((s) => !p.holdings.some((h) => h.symbol === s));
          if (free.length > 0) p.holdings.push({ symbol: pick(free), quantity: QUANTITIES() });
        }
        expect({ round, answer: await engine.reload(p.id, true, read) }).toEqual({ round, answer: reference(p) });
        expect({ round, got: emitted.flat() }).toEqual({ round, got: [reference(p)] });
      } else if (action < 0.95 && ports.length > 5) {
        const p = pick(ports);
        ports = ports.filter((x) => x !== p);
        engine.remove(p.id);
        expect(emitted.flat()).toEqual([]);
        expect(engine.valuation(p.id)).toBeNull();
        expect(await snapshot(p.id)).toBeNull(); // read again: gone
      } else {
        // Created after the load: the first snapshot reads it, the announcement reloads it.
        const p: Port = { id: nextId++, owner: 1, holdings: randomHoldings() };
        ports.push(p);
        expect(await snapshot(p.id)).toEqual(reference(p));
        expect(emitted.flat()).toEqual([]); // a snapshot's read announces nothing
        await engine.reload(p.id, true, read);
        expect(emitted.flat()).toEqual([reference(p)]);
      }
      await checkAll(`round ${round}`);
      for (const p of ports) {
        const s = reference(p).stale;
        if (lastStale.has(p.id) && lastStale.get(p.id) !== s) flips++;
      }
      lastStale = new Map(ports.map((p) => [p.id, reference(p).stale]));
    }
    // The run must have exercised staleness in both directions.
    expect(flips).toBeGreaterThan(20);
  });

  /** A one-portfolio engine over the given assets; `tick` applies a one-tick batch. */
  function smallEngine(assets: { symbol: string; price: string | null; last_updated: Date | null }[], holdings: { symbol: string; quantity: string }[]) {
    const engine = newEngine();
    engine.load(
      assets.map((a) => ({ symbol: a.symbol, current_price: a.price, previous_close: a.price, last_updated: a.last_updated })),
      holdings.map((h) => ({ portfolio_id: 1, owner_id: 1, name: 'P', symbol: h.symbol, quantity: h.quantity })),
    );
    const tick = (symbol: string, price: string, as_of: string) => {
      engine.applyPrices([{ symbol, price, previous_close: null, high: null, low: null, volume: null, as_of, source: 'test' }]);
    };
    return { engine, tick };
  }

  it('recounts newest and oldest when an unreadable as_of moves a symbol back to the clock', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    vi.setSystemTime(now);
    const { engine, tick } = smallEngine(
      [
        { symbol: 'A', price: '10', last_updated: new Date(now - 1000) },
        { symbol: 'B', price: '20', last_updated: new Date(now - 1000) },
      ],
      [
        { symbol: 'A', quantity: '1' },
        { symbol: 'B', quantity: '2' },
      ],
    );
    tick('A', '11', new Date(now + 60_000).toISOString()); // stamped in the future
    tick('B', '21', new Date(now + 30_000).toISOString());
    expect(engine.valuation(1)!.as_of).toBe(new Date(now + 60_000).toISOString());
    tick('A', '12', 'garbage'); // falls back to the clock: A goes back from now+60 s to now
    const v = engine.valuation(1)!;
    expect(v.as_of).toBe(new Date(now + 30_000).toISOString());
    expect(v.total_value).toBe('54');
    expect(v.stale).toBe(false);
  });

  it('turns stale when a never-updated symbol first ticks with an old as_of', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    vi.setSystemTime(now);
    const { engine, tick } = smallEngine(
      [
        { symbol: 'A', price: '10', last_updated: new Date(now - 1000) },
        { symbol: 'N', price: '5', last_updated: null },
      ],
      [
        { symbol: 'A', quantity: '1' },
        { symbol: 'N', quantity: '1' },
      ],
    );
    expect(engine.valuation(1)!.stale).toBe(true); // N never updated
    tick('N', '6', new Date(now - 10_000).toISOString());
    expect(engine.valuation(1)!.stale).toBe(false);
    tick('A', '11', new Date(now).toISOString());
    vi.setSystemTime(now + 85_000); // N is 95 s old, A 85 s: stale (limit 90 s)
    expect(engine.valuation(1)!.stale).toBe(true);
    tick('N', '7', new Date(now + 85_000).toISOString());
    expect(engine.valuation(1)!).toMatchObject({ stale: false, as_of: new Date(now + 85_000).toISOString(), total_value: '18' });

    // First tick already older than everything else: the portfolio must turn stale at once.
    vi.setSystemTime(now);
    const second = smallEngine(
      [
        { symbol: 'A', price: '10', last_updated: new Date(now - 1000) },
        { symbol: 'N', price: '5', last_updated: null },
      ],
      [
        { symbol: 'A', quantity: '1' },
        { symbol: 'N', quantity: '1' },
      ],
    );
    second.tick('N', '6', new Date(now - 200_000).toISOString());
    expect(second.engine.valuation(1)!).toMatchObject({ stale: true, as_of: new Date(now - 1000).toISOString() });
  });

  it('stays exact at the bounds of the Number-limb path (many large holdings per portfolio, large price moves)', () => {
    // Quantities just under 10^7 units and price moves just under $10^6 (the fast path's limits), 30
    // symbols per portfolio moving in one batch: the limbs must be carried often enough to stay exact.
    const syms = Array.from({ length: 30 }, (_, i) => `S${i}`);
    const prices = new Map(syms.map((s) => [s, decimal(999_000) || '1']));
    const quantities = Array.from(
      { length: 5 },
      () => new Map(syms.map((s) => [s, `${9_000_000 + Math.floor(rnd() * 999_999)}.${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`])),
    );
    const engine = newEngine();
    engine.load(
      syms.map((symbol) => ({ symbol, current_price: prices.get(symbol)!, previous_close: prices.get(symbol)!, last_updated: new Date() })),
      quantities.flatMap((q, i) => syms.map((symbol) => ({ portfolio_id: i + 1, owner_id: 1, name: `P${i}`, symbol, quantity: q.get(symbol)! }))),
    );
    const prev = new Map(prices);
    for (let round = 0; round < 40; round++) {
      const ticks: PriceTick[] = syms.map((symbol) => {
        // Alternate between ~$1 and ~$999,999 so every delta is close to ±$10^6 (but below it).
        const high = (round + symbol.length) % 2 === 0;
        const price = high
          ? `${999_000 + Math.floor(rnd() * 999)}.${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`
          : `${1 + Math.floor(rnd() * 9)}.${String(Math.floor(rnd() * 1e8)).padStart(8, '0')}`;
        prices.set(symbol, price);
        return { symbol, price, previous_close: prev.get(symbol)!, high: null, low: null, volume: null, as_of: new Date().toISOString(), source: 'test' };
      });
      engine.applyPrices(ticks);
      for (const [i, q] of quantities.entries()) {
        const e = valuePortfolio(syms.map((s) => ({ quantity: q.get(s)!, price: prices.get(s)!, previous_close: prev.get(s)! })));
        const v = engine.valuation(i + 1)!;
        expect({ round, i, total: v.total_value, change: v.daily_change, pct: v.daily_change_percent }).toEqual({
          round,
          i,
          total: e.total_value,
          change: e.daily_change,
          pct: e.daily_change_percent,
        });
      }
    }
  });
});
