import { describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import type { PriceTick } from '../../../src/bus/bus.messages';
import { InProcessBus } from '../../../src/bus/in-process.bus';
import { AppConfig } from '../../../src/config/app-config';
import { validateEnv } from '../../../src/config/env.validation';
import { LiveValuationService } from '../../../src/portfolios/valuation/live-valuation.service';
import { valuePortfolio } from '../../../src/portfolios/valuation/valuation.math';
import type { PortfolioValuation } from '../../../src/portfolios/valuation/valuation.types';

/**
 * Property test of the engine's incremental arithmetic (its fast Number-limb
 * path, its BigInt path and the switch between them): after every random
 * price batch, every portfolio's live figures must equal a full recount by
 * valuation.math from the same prices. The engine reads its start state from a
 * scripted data source (the e2e suite covers the real database).
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

describe('LiveValuationService arithmetic (property test against valuation.math)', () => {
  it('matches a full recount after every one of 300 random batches', async () => {
    const prices = new Map<string, { price: string; prev: string }>(SYMBOLS.map((s) => [s, { price: PRICES(), prev: PRICES() }]));
    const portfolios = Array.from({ length: 40 }, (_, i) => ({
      id: i + 1,
      holdings: SYMBOLS.filter(() => rnd() < 0.5).map((symbol) => ({ symbol, quantity: QUANTITIES() })),
    }));
    const t0 = new Date(Date.now() - 1000);
    const db = {
      query: async (text: string) => {
        if (text.includes('FROM assets')) {
          return SYMBOLS.map((symbol) => ({ symbol, current_price: prices.get(symbol)!.price, previous_close: prices.get(symbol)!.prev, last_updated: t0 }));
        }
        type Row = { portfolio_id: number; owner_id: number; name: string; symbol: string | null; quantity: string | null };
        return portfolios.flatMap((p): Row[] =>
          p.holdings.length === 0
            ? [{ portfolio_id: p.id, owner_id: 1, name: `P${p.id}`, symbol: null, quantity: null }]
            : p.holdings.map((h) => ({ portfolio_id: p.id, owner_id: 1, name: `P${p.id}`, symbol: h.symbol, quantity: h.quantity })),
        );
      },
    } as unknown as DataSource;
    const bus = new InProcessBus();
    const engine = new LiveValuationService(db, bus, AppConfig.from(validateEnv({ REALTIME_UPDATE_INTERVAL: '30' })));
    engine.onModuleInit();
    await engine.onApplicationBootstrap();

    const expected = (id: number) => {
      const p = portfolios.find((x) => x.id === id)!;
      return valuePortfolio(p.holdings.map((h) => ({ quantity: h.quantity, price: prices.get(h.symbol)!.price, previous_close: prices.get(h.symbol)!.prev })));
    };
    const check = async (label: string) => {
      for (const p of portfolios) {
        const v = (await engine.snapshot(p.id)) as PortfolioValuation;
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
    await check('initial');

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
        ticks.push({ symbol, price: next.price, previous_close: next.prev, high: null, low: null, volume: null, as_of: new Date(clock).toISOString(), source: 'test' });
      }
      if (ticks.length === 0) continue;
      const applied = new Promise<void>((resolve) => {
        const off = engine.onChange(() => {
          off();
          resolve();
        });
      });
      await bus.publish('prices.committed', { ticks, published_at: Date.now(), origin: 'test' });
      await applied;
      await check(`round ${round}`);
    }
    engine.onModuleDestroy();
  });
});
