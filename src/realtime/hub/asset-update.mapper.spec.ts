import { describe, expect, it } from 'vitest';
import { isUsableTick, priceChange, priceChangeDecimal, toAssetUpdate, toScaled } from './asset-update.mapper';

const base = {
  symbol: 'AAPL',
  price: '150.25',
  previous_close: '147.75',
  high: '151.00',
  low: '148.50',
  volume: '50000000',
  as_of: '2024-01-15T10:30:00Z',
  source: 'test',
};

describe('toAssetUpdate', () => {
  it("maps decimal strings to the guide's numbers, with change computed in decimal", () => {
    expect(toAssetUpdate(base, 7, 1700000000000, 'post')).toEqual({
      symbol: 'AAPL',
      price: 150.25,
      change: 2.5,
      change_percent: 1.692,
      volume: 50000000,
      high: 151,
      low: 148.5,
      previous_close: 147.75,
      as_of: '2024-01-15T10:30:00Z',
      source: 'test',
      seq: 7,
      published_at: 1700000000000,
      market_state: 'post',
    });
  });

  it('has no float drift where binary floating point would', () => {
    const u = toAssetUpdate({ ...base, price: '0.3', previous_close: '0.1' }, 1, 0, 'open');
    expect(u.change).toBe(0.2);
    expect(u.change_percent).toBe(200);
  });

  it('reports zero change without a previous close, and nulls for unknown fields', () => {
    const u = toAssetUpdate({ ...base, previous_close: null, high: null, low: null, volume: null }, 1, 0, 'open');
    expect(u).toMatchObject({ change: 0, change_percent: 0, previous_close: null, high: null, low: null, volume: null });
  });

  it('rejects unusable ticks', () => {
    expect(isUsableTick(base)).toBe(true);
    for (const bad of [null, {}, { ...base, price: 'abc' }, { ...base, symbol: '' }, { ...base, as_of: 5 }, { ...base, symbol: 'X'.repeat(40) }]) {
      expect(isUsableTick(bad)).toBe(false);
    }
  });
});

describe('priceChange (scaled-integer fast path)', () => {
  it('agrees with decimal.js on many random prices, including rounding ties and negatives', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const dec = (max: number, dp: number) => (rnd() * max).toFixed(Math.floor(rnd() * (dp + 1)));
    const cases: [string, string][] = [
      ['150.25', '147.75'],
      ['0.00000001', '0.00000003'],
      ['100.00005', '100'],
      ['99.99995', '100'],
      ['1', '3'],
      ['2', '3'],
      ['12345678.12345678', '0.00000001'],
      ['0', '5'],
    ];
    for (let i = 0; i < 5000; i++) cases.push([dec(10 ** Math.floor(rnd() * 7), 8), dec(10 ** Math.floor(rnd() * 7), 8)]);
    for (const [p, prev] of cases) {
      if (Number(prev) === 0) continue;
      expect(priceChange(p, prev), `${p} vs ${prev}`).toEqual(priceChangeDecimal(p, prev));
    }
  });

  it('falls back to decimal.js beyond 8 decimals or safe-integer range', () => {
    expect(toScaled('1.123456789')).toBeNull();
    expect(toScaled('123456789012345678')).toBeNull();
    expect(toScaled('-1.5')).toBe(-150000000);
    expect(priceChange('1.123456789', '1')).toEqual(priceChangeDecimal('1.123456789', '1'));
    expect(priceChange('1e3', '999')).toEqual({ change: 1, changePercent: 0.1001 });
  });
});
