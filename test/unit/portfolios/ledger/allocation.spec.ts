import { describe, expect, it } from 'vitest';
import { allocation } from '../../../../src/portfolios/ledger/allocation';
import { D } from '../../../../src/common/decimal';

const sum = (shares: string[]) => shares.reduce((s, x) => s.plus(x), new D(0)).toString();

describe('allocation', () => {
  it('groups by a key (currency) and divides by the total', () => {
    // USD 600 + 100 = 700, EUR 300; total 1000 → 0.7, 0.3
    const items = [
      { symbol: 'A', currency: 'USD', marketValue: '600' },
      { symbol: 'B', currency: 'EUR', marketValue: '300' },
      { symbol: 'C', currency: 'USD', marketValue: '100' },
    ];
    expect(allocation(items, (h) => h.currency)).toEqual([
      { key: 'USD', value: '700', share: '0.7' },
      { key: 'EUR', value: '300', share: '0.3' },
    ]);
  });

  it('thirds sum to exactly 1: the leftover 10^-10 goes to one slice (ties: larger value, then key)', () => {
    // 1/3 = 0.3333333333|33… each: 3 × 0.3333333333 = 0.9999999999, one unit of 10^-10 left → "A"
    const r = allocation(
      [
        { k: 'C', marketValue: '1' },
        { k: 'A', marketValue: '1' },
        { k: 'B', marketValue: '1' },
      ],
      (x) => x.k,
    );
    expect(r.map((s) => [s.key, s.share])).toEqual([
      ['A', '0.3333333334'],
      ['B', '0.3333333333'],
      ['C', '0.3333333333'],
    ]);
    expect(sum(r.map((s) => s.share))).toBe('1');
  });

  it('largest remainders get the leftover units: 2/3 and 1/3 of 3, by holding', () => {
    // 2/3 = 0.6666666666|67 (remainder 0.67), 1/3 = 0.3333333333|33 (0.33): the unit goes to the 2/3 slice
    const r = allocation(
      [
        { symbol: 'X', marketValue: '2' },
        { symbol: 'Y', marketValue: '1' },
      ],
      (h) => h.symbol,
    );
    expect(r.map((s) => s.share)).toEqual(['0.6666666667', '0.3333333333']);
  });

  it('sums to exactly 1 for awkward values (by asset type), a zero-value slice stays 0', () => {
    const items = [
      { type: 'stock', marketValue: '1234.56789' },
      { type: 'crypto', marketValue: '0.00000007' },
      { type: 'etf', marketValue: '98765.4321' },
      { type: 'bond', marketValue: '0' },
      { type: 'stock', marketValue: '7' },
      { type: 'fx', marketValue: '3.14159265' },
    ];
    const r = allocation(items, (h) => h.type);
    expect(sum(r.map((s) => s.share))).toBe('1');
    expect(r.find((s) => s.key === 'bond')!.share).toBe('0');
    expect(r.map((s) => s.key)).toEqual(['etf', 'stock', 'fx', 'crypto', 'bond']);
    // etf: 98765.4321 / 100010.14158272 = 0.98755418… (within 10^-10 of the exact quotient)
    const total = new D('100010.14158272');
    expect(new D(r[0].share).minus(new D('98765.4321').div(total)).abs().lte('1e-10')).toBe(true);
  });

  it('a zero total gives every slice 0; a negative value is refused', () => {
    expect(allocation([{ marketValue: '0' }], () => 'x')).toEqual([{ key: 'x', value: '0', share: '0' }]);
    expect(allocation([], () => 'x')).toEqual([]);
    expect(() => allocation([{ marketValue: '-1' }], () => 'x')).toThrow(RangeError);
  });
});
