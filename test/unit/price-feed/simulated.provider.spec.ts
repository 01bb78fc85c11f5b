import { describe, expect, it } from 'vitest';
import { D } from '../../../src/common/decimal';
import type { ProviderAsset } from '../../../src/price-feed/providers/price-provider.interface';
import { SimulatedProvider } from '../../../src/price-feed/providers/simulated.provider';
import { testConfig } from './support/config';

const assets: ProviderAsset[] = [
  { symbol: 'AAPL', assetType: 'STOCK', lastPrice: '229.87', previousClose: '228.10' },
  { symbol: 'BTC-USD', assetType: 'CRYPTO', lastPrice: '67000', previousClose: '66000' },
  { symbol: 'EURUSD', assetType: 'FOREX', lastPrice: '1.0850', previousClose: '1.0840' },
];

async function walk(seed: number, steps: number, list = assets): Promise<string[][]> {
  const p = new SimulatedProvider(testConfig({ SIMULATED_SEED: String(seed), REALTIME_UPDATE_INTERVAL: '30' }));
  const now = new Date('2024-03-05T15:00:00Z');
  const out: string[][] = [];
  for (let i = 0; i < steps; i++) out.push((await p.getQuotes(list, now)).map((q) => String(q.price)));
  return out;
}

describe('SimulatedProvider', () => {
  it('is reproducible: same seed and start, same prices', async () => {
    const a = await walk(42, 50);
    const b = await walk(42, 50);
    expect(a).toEqual(b);
    // and the prices actually move
    expect(new Set(a.map((r) => r[0])).size).toBeGreaterThan(10);
  });

  it('differs with another seed', async () => {
    expect(await walk(42, 20)).not.toEqual(await walk(43, 20));
  });

  it('gives a symbol the same path whatever else is in the batch', async () => {
    const alone = (await walk(7, 30, [assets[0]])).map((r) => r[0]);
    const together = (await walk(7, 30)).map((r) => r[0]);
    expect(together).toEqual(alone);
  });

  it('keeps sensible decimals, positive prices and moves in line with the volatility', async () => {
    const rows = await walk(1, 200);
    for (const [aapl, btc, eur] of rows) {
      expect(aapl).toMatch(/^\d+(\.\d{1,2})?$/);
      expect(eur).toMatch(/^\d+(\.\d{1,5})?$/);
      expect(Number(btc)).toBeGreaterThan(0);
    }
    // 200 ticks of 30 s ≈ a quarter of a trading day at 1.6% daily vol: AAPL stays within ±15%.
    const last = Number(rows.at(-1)![0]);
    expect(last).toBeGreaterThan(229.87 * 0.85);
    expect(last).toBeLessThan(229.87 * 1.15);
  });

  it('accumulates intraday high, low and volume, and rolls the day over', async () => {
    const p = new SimulatedProvider(testConfig({ SIMULATED_SEED: '5' }));
    const day1 = new Date('2024-03-05T15:00:00Z');
    let high = new D(0);
    let low = new D('1e9');
    let lastVolume = new D(0);
    let last = '';
    for (let i = 0; i < 40; i++) {
      const [q] = await p.getQuotes([assets[0]], day1);
      const price = new D(String(q.price));
      high = D.max(high, price);
      low = D.min(low, price);
      expect(new D(String(q.high)).gte(price)).toBe(true);
      expect(new D(String(q.low)).lte(price)).toBe(true);
      expect(new D(String(q.volume)).gt(lastVolume)).toBe(true);
      expect(q.previous_close).toBe('228.1');
      lastVolume = new D(String(q.volume));
      last = String(q.price);
    }
    const [end] = await p.getQuotes([assets[0]], day1);
    expect(new D(String(end.high)).gte(high)).toBe(true);
    expect(new D(String(end.low)).lte(low)).toBe(true);
    last = String(end.price);

    // Next UTC day: previous_close = last price, range and volume start again.
    const [next] = await p.getQuotes([assets[0]], new Date('2024-03-06T00:00:05Z'));
    expect(next.previous_close).toBe(last);
    expect(new D(String(next.volume)).lt(lastVolume)).toBe(true);
    const span = new D(String(next.high)).minus(String(next.low));
    expect(span.lte(new D(String(next.price)).minus(last).abs())).toBe(true);
  });

  it('rollover() starts a new day for every simulated symbol', async () => {
    const p = new SimulatedProvider(testConfig());
    const day = new Date('2024-03-05T23:59:00Z');
    const [q] = await p.getQuotes([assets[0]], day);
    expect(p.rollover(new Date('2024-03-06T00:00:00Z'))).toBe(1);
    const [n] = await p.getQuotes([assets[0]], new Date('2024-03-06T00:00:30Z'));
    expect(n.previous_close).toBe(q.price);
  });

  it('generates reproducible, valid daily history ending at the previous close (weekdays for stocks)', async () => {
    const p = new SimulatedProvider(testConfig({ SIMULATED_SEED: '9' }));
    const now = new Date('2024-03-06T12:00:00Z'); // a Wednesday
    const bars = await p.getDailyHistory(assets[0], 30, now);
    expect(bars).toEqual(await new SimulatedProvider(testConfig({ SIMULATED_SEED: '9' })).getDailyHistory(assets[0], 30, now));
    expect(bars.length).toBeGreaterThanOrEqual(20);
    expect(bars.length).toBeLessThanOrEqual(22);
    expect(bars.at(-1)!.date).toBe('2024-03-05');
    expect(bars.at(-1)!.close).toBe('228.1');
    for (const b of bars) {
      const dow = new Date(`${b.date}T00:00:00Z`).getUTCDay();
      expect(dow).not.toBe(0);
      expect(dow).not.toBe(6);
      const [o, h, l, c] = [b.open, b.high, b.low, b.close].map((v) => new D(String(v)));
      expect(h.gte(D.max(o, c))).toBe(true);
      expect(l.lte(D.min(o, c))).toBe(true);
      expect(l.gt(0)).toBe(true);
    }
    const crypto = await p.getDailyHistory(assets[1], 10, now);
    expect(crypto).toHaveLength(10); // crypto trades every day
  });
});
