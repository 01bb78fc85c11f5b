import { describe, expect, it } from 'vitest';
import { isUsableTick, toAssetUpdate } from './asset-update.mapper';

const base = { symbol: 'AAPL', price: '150.25', previous_close: '147.75', high: '151.00', low: '148.50', volume: '50000000', as_of: '2024-01-15T10:30:00Z', source: 'test' };

describe('toAssetUpdate', () => {
  it("maps decimal strings to the seed's numbers, with change computed in decimal", () => {
    expect(toAssetUpdate(base, 7, 1700000000000)).toEqual({
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
    });
  });

  it('has no float drift where binary floating point would', () => {
    const u = toAssetUpdate({ ...base, price: '0.3', previous_close: '0.1' }, 1, 0);
    expect(u.change).toBe(0.2);
    expect(u.change_percent).toBe(200);
  });

  it('reports zero change without a previous close, and nulls for unknown fields', () => {
    const u = toAssetUpdate({ ...base, previous_close: null, high: null, low: null, volume: null }, 1, 0);
    expect(u).toMatchObject({ change: 0, change_percent: 0, previous_close: null, high: null, low: null, volume: null });
  });

  it('rejects unusable ticks', () => {
    expect(isUsableTick(base)).toBe(true);
    for (const bad of [null, {}, { ...base, price: 'abc' }, { ...base, symbol: '' }, { ...base, as_of: 5 }, { ...base, symbol: 'X'.repeat(40) }]) {
      expect(isUsableTick(bad)).toBe(false);
    }
  });
});
