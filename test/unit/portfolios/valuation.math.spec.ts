import Decimal from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { formatFixed, formatFixed16, isPriceStale, percentOf, toFixed8, valuePortfolio } from '../../../src/portfolios/valuation/valuation.math';

describe('toFixed8 (decimal → integer scaled by 10^8)', () => {
  it.each([
    ['0.1', 10_000_000n],
    [0.1, 10_000_000n],
    [0.2, 20_000_000n],
    ['150.25', 15_025_000_000n],
    ['0', 0n],
    ['-0', 0n],
    ['007.50', 750_000_000n],
    ['1e-7', 10n],
    [1e-7, 10n],
    ['1.5E3', 150_000_000_000n],
    ['0.00000001', 1n],
    ['-2.5', -250_000_000n],
    ['  3.25 ', 325_000_000n],
    ['12345678901234567890.12345678', 1234567890123456789012345678n],
  ])('%j → %s', (input, expected) => {
    expect(toFixed8(input)).toBe(expected);
  });

  it('rounds past 8 decimals half away from zero, like PostgreSQL numeric', () => {
    expect(toFixed8('0.123456785')).toBe(12_345_679n);
    expect(toFixed8('0.123456784999')).toBe(12_345_678n);
    expect(toFixed8('-0.123456785')).toBe(-12_345_679n);
    expect(toFixed8('0.000000005')).toBe(1n);
  });

  it('keeps null as "no value" and rejects what is not a finite decimal', () => {
    expect(toFixed8(null)).toBeNull();
    expect(toFixed8(undefined)).toBeNull();
    for (const bad of ['', 'abc', '1.2.3', 'NaN', 'Infinity', '0x10', '--1']) expect(() => toFixed8(bad), bad).toThrow(RangeError);
    for (const bad of [NaN, Infinity, -Infinity]) expect(() => toFixed8(bad)).toThrow(RangeError);
  });
});

describe('formatFixed', () => {
  it.each([
    [0n, 8, '0'],
    [1n, 8, '0.00000001'],
    [-1n, 8, '-0.00000001'],
    [750_000_000n, 8, '7.5'],
    [100_000_000n, 8, '1'],
    [-250_000_000n, 8, '-2.5'],
    [123n, 0, '123'],
    [(10n ** 16n * 3n) / 10n, 16, '0.3'],
  ])('%s at scale %s → %s', (v, scale, expected) => {
    expect(formatFixed(v, scale)).toBe(expected);
  });
});

describe('percentOf (4 decimals, half away from zero)', () => {
  it.each([
    [1n, 8n, '12.5'],
    [1n, 3n, '33.3333'],
    [2n, 3n, '66.6667'],
    [-2n, 3n, '-66.6667'],
    [2n, -3n, '-66.6667'],
    [1n, 2_000_000n, '0.0001'], // 0.00005 % rounds up
    [-1n, 2_000_000n, '-0.0001'],
    [1n, 2_000_001n, '0'], // just under the half
    [0n, 5n, '0'],
    [5n, 0n, '0'], // never NaN or Infinity
    [3n, 1n, '300'],
  ])('%s / %s → %s %%', (part, whole, expected) => {
    expect(percentOf(part, whole)).toBe(expected);
  });
});

describe('valuePortfolio', () => {
  it('adds 0.1 + 0.2 exactly (floats say 0.30000000000000004)', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    const v = valuePortfolio([
      { quantity: '1', price: '0.1', previous_close: '0.1', average_cost: '0.1' },
      { quantity: 1, price: 0.2, previous_close: 0.2, average_cost: 0.2 },
    ]);
    expect(v.total_value).toBe('0.3');
    expect(v.cost_basis).toBe('0.3');
    expect(v.daily_change).toBe('0');
    expect(v.daily_change_percent).toBe('0');
  });

  it('computes the guide-style figures by hand', () => {
    // 50 AAPL at 152.75 (prev 150.25, cost 140.10), 0.5 BTC at 63250.5 (prev 64000, cost 42000)
    const v = valuePortfolio([
      { quantity: '50', price: '152.75', previous_close: '150.25', average_cost: '140.10' },
      { quantity: '0.5', price: '63250.5', previous_close: '64000', average_cost: '42000' },
    ]);
    // total = 7637.5 + 31625.25 = 39262.75 ; previous = 7512.5 + 32000 = 39512.5
    expect(v.total_value).toBe('39262.75');
    expect(v.previous_value).toBe('39512.5');
    expect(v.daily_change).toBe('-249.75'); // 125 - 374.75
    expect(v.daily_change_percent).toBe('-0.6321'); // -249.75 / 39512.5 * 100 = -0.632078...
    expect(v.cost_basis).toBe('28005'); // 7005 + 21000
    expect(v.unrealized_gain).toBe('11257.75');
    expect(v.unrealized_gain_percent).toBe('40.1991'); // 11257.75 / 28005 * 100 = 40.19906...
    expect(v.positions[0]).toEqual({
      market_value: '7637.5',
      daily_change: '125',
      daily_change_percent: '1.6639',
      cost_basis: '7005',
      unrealized_gain: '632.5',
      unrealized_gain_percent: '9.0293',
      priced: true,
    });
  });

  it('is exact with 8-decimal quantities and prices (16-decimal products)', () => {
    const v = valuePortfolio([{ quantity: '0.00000001', price: '0.00000001', previous_close: '0.00000002', average_cost: '0' }]);
    expect(v.total_value).toBe('0.0000000000000001');
    expect(v.daily_change).toBe('-0.0000000000000001');
    expect(v.daily_change_percent).toBe('-50');
    expect(v.unrealized_gain_percent).toBe('0'); // cost 0: no NaN
  });

  it('gives zeros, not NaN, for an empty portfolio', () => {
    const v = valuePortfolio([]);
    expect(v).toMatchObject({
      total_value: '0',
      daily_change: '0',
      daily_change_percent: '0',
      cost_basis: '0',
      unrealized_gain: '0',
      unrealized_gain_percent: '0',
      unpriced_positions: 0,
    });
  });

  it('counts a position without a price as 0 and reports it; no previous close means no daily change', () => {
    const v = valuePortfolio([
      { quantity: '10', price: null, previous_close: '5', average_cost: '4' },
      { quantity: '2', price: '3', previous_close: null, average_cost: '1' },
    ]);
    expect(v.unpriced_positions).toBe(1);
    expect(v.total_value).toBe('6');
    expect(v.previous_value).toBe('6');
    expect(v.daily_change).toBe('0');
    expect(v.cost_basis).toBe('42');
    expect(v.unrealized_gain).toBe('4'); // priced positions only: 6 - 2
    expect(v.unrealized_gain_percent).toBe('200');
    expect(v.positions[0]).toMatchObject({ market_value: '0', unrealized_gain: null, unrealized_gain_percent: null, priced: false });
  });

  it('agrees with decimal.js on random portfolios (seeded)', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const dec = (maxInt: number) => (Math.floor(rnd() * maxInt) + Math.floor(rnd() * 1e8) / 1e8).toFixed(8);
    const Big = Decimal.clone({ precision: 80 });
    for (let round = 0; round < 200; round++) {
      const positions = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => ({
        quantity: dec(100000),
        price: dec(70000),
        previous_close: dec(70000),
        average_cost: dec(70000),
      }));
      let total = new Big(0);
      let prev = new Big(0);
      for (const p of positions) {
        total = total.plus(new Big(p.quantity).times(p.price));
        prev = prev.plus(new Big(p.quantity).times(p.previous_close));
      }
      const v = valuePortfolio(positions);
      expect(v.total_value).toBe(total.toFixed());
      expect(v.daily_change).toBe(total.minus(prev).toFixed());
      const pct = prev.isZero() ? '0' : total.minus(prev).div(prev).times(100).toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed();
      expect(v.daily_change_percent).toBe(pct === '-0' ? '0' : pct);
    }
  });
});

describe('isPriceStale', () => {
  it('is stale after 3 update intervals, or when never updated', () => {
    const now = 1_700_000_000_000;
    expect(isPriceStale(now - 89_000, now, 30)).toBe(false);
    expect(isPriceStale(now - 90_000, now, 30)).toBe(false);
    expect(isPriceStale(now - 90_001, now, 30)).toBe(true);
    expect(isPriceStale(null, now, 30)).toBe(true);
    expect(formatFixed16(0n)).toBe('0');
  });
});
