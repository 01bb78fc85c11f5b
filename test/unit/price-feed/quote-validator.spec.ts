import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { RawQuote } from '../../../src/price-feed/providers/price-provider.interface';
import { KnownPrice, QuoteValidator } from '../../../src/price-feed/validation/quote-validator';
import { testConfig } from './support/config';

const NOW = Date.parse('2024-03-05T15:00:00Z');
const at = (offsetMs = 0) => new Date(NOW + offsetMs);
const q = (symbol: string, price: RawQuote['price'], extra: Partial<RawQuote> = {}): RawQuote => ({ symbol, price, as_of: at(), source: 'test', ...extra });
const known = (entries: Record<string, [string | null, Date | null]>) =>
  new Map<string, KnownPrice>(Object.entries(entries).map(([s, [price, asOf]]) => [s, { price, asOf }]));

function validator(threshold = '0.25') {
  return new QuoteValidator(testConfig({ PRICE_JUMP_THRESHOLD: threshold }));
}

async function rejectedCount(reason: string): Promise<number> {
  const m = await register.getSingleMetric('price_feed_quotes_rejected_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels.reason === reason).reduce((s, v) => s + v.value, 0);
}

describe('QuoteValidator', () => {
  it('accepts a clean quote and normalises numbers to exact decimal strings', () => {
    const r = validator().validate([q('AAPL', 189.98, { high: 190.32, low: '188.19', volume: 48794366, previous_close: '188.83' })], new Map(), NOW);
    expect(r.rejected).toEqual([]);
    expect(r.accepted).toEqual([
      { symbol: 'AAPL', price: '189.98', high: '190.32', low: '188.19', volume: '48794366', previous_close: '188.83', as_of: at(), source: 'test' },
    ]);
  });

  it.each([
    ['NaN', NaN, 'not_finite'],
    ['Infinity', Infinity, 'not_finite'],
    ['-Infinity', -Infinity, 'not_finite'],
    ['"NaN" string', 'NaN', 'not_finite'],
    ['"Infinity" string', 'Infinity', 'not_finite'],
    ['negative', -5, 'not_positive'],
    ['zero', 0, 'not_positive'],
    ['"0.0" string', '0.0', 'not_positive'],
    ['garbage', 'abc', 'malformed'],
    ['missing', null, 'malformed'],
  ])('rejects a %s price', async (_name, price, reason) => {
    const before = await rejectedCount(reason);
    const r = validator().validate([q('AAPL', price as RawQuote['price'])], new Map(), NOW);
    expect(r.accepted).toEqual([]);
    expect(r.rejected).toEqual([expect.objectContaining({ symbol: 'AAPL', reason })]);
    expect(await rejectedCount(reason)).toBe(before + 1);
  });

  it('rejects NaN/Infinity in the other fields, negative volume and high below low', () => {
    const v = validator();
    const r = v.validate(
      [
        q('A', 10, { high: NaN }),
        q('B', 10, { volume: Infinity }),
        q('C', 10, { volume: -1 }),
        q('D', 10, { high: 9, low: 11 }),
        q('E', 10, { previous_close: 0 }),
      ],
      new Map(),
      NOW,
    );
    expect(r.accepted).toEqual([]);
    expect(Object.fromEntries(r.rejected.map((x) => [x.symbol, x.reason]))).toEqual({
      A: 'not_finite',
      B: 'not_finite',
      C: 'negative_volume',
      D: 'high_below_low',
      E: 'not_positive',
    });
  });

  it('rejects what the columns cannot store instead of failing the whole batch later: prices that round to 0, values of 1e16 and more, absurd exponents', () => {
    const r = validator().validate(
      [
        q('A', '0.000000001'),
        q('B', '0.000000005'),
        q('C', 10, { high: '1e16', low: 9 }),
        q('D', 10, { previous_close: '99999999999999999' }),
        q('E', 10, { low: '0.000000004' }),
        q('F', '1e999999999'),
        q('G', 10, { volume: '1e-999999999' }),
        q('H', 10, { previous_close: 1e300 }),
      ],
      new Map(),
      NOW,
    );
    expect(Object.fromEntries(r.rejected.map((x) => [x.symbol, x.reason]))).toEqual({
      A: 'not_positive',
      C: 'malformed',
      D: 'malformed',
      E: 'not_positive',
      F: 'malformed',
      G: 'malformed',
      H: 'malformed',
    });
    expect(r.rejected.find((x) => x.symbol === 'F')!.detail).toBe('price "1e999999999" out of range');
    expect(r.accepted.map((x) => [x.symbol, x.price])).toEqual([['B', '0.00000001']]);
  });

  it('rejects a quote from the future (beyond a few seconds of clock skew) and an invalid timestamp', () => {
    const r = validator().validate(
      [q('A', 10, { as_of: at(60_000) }), q('B', 10, { as_of: at(2_000) }), q('C', 10, { as_of: new Date('nope') })],
      new Map(),
      NOW,
    );
    expect(r.rejected.map((x) => [x.symbol, x.reason])).toEqual([
      ['A', 'future_timestamp'],
      ['C', 'malformed'],
    ]);
    expect(r.accepted.map((x) => x.symbol)).toEqual(['B']);
  });

  it('rejects a quote older than the stored one, and ignores an exact repeat', () => {
    const stored = known({ A: ['10', at()], B: ['10', at()], C: ['10', at(-1000)] });
    const r = validator().validate([q('A', 10.5, { as_of: at(-1) }), q('B', 10), q('C', 10.1)], stored, NOW);
    expect(r.rejected).toEqual([expect.objectContaining({ symbol: 'A', reason: 'out_of_order' })]);
    expect(r.unchanged).toEqual(['B']);
    expect(r.accepted.map((x) => x.symbol)).toEqual(['C']);
  });

  it('merges duplicates of a symbol in one batch: newest wins, the range widens', () => {
    const r = validator().validate(
      [
        q('A', 10, { as_of: at(-2000), high: 12, low: 9, volume: 100 }),
        q('A', 11, { as_of: at(-1000), high: 11.5, low: 10, volume: 150 }),
        q('A', 'NaN', { as_of: at() }),
      ],
      new Map(),
      NOW,
    );
    expect(r.accepted).toHaveLength(1);
    expect(r.accepted[0]).toMatchObject({ symbol: 'A', price: '11', high: '12', low: '9', volume: '150', as_of: at(-1000) });
    expect(r.rejected).toEqual([expect.objectContaining({ symbol: 'A', reason: 'not_finite' })]);
  });

  it('holds a jump above the threshold until the next fetch confirms it', () => {
    const v = validator('0.25');
    const stored = known({ A: ['100', at(-60_000)] });
    const first = v.validate([q('A', 150, { as_of: at(-30_000) })], stored, NOW);
    expect(first.accepted).toEqual([]);
    expect(first.rejected).toEqual([expect.objectContaining({ symbol: 'A', reason: 'jump_unconfirmed' })]);
    // The next fetch sees about the same price: confirmed.
    const second = v.validate([q('A', 151)], stored, NOW);
    expect(second.accepted.map((x) => x.price)).toEqual(['151']);
  });

  it('keeps rejecting a jump the next fetch does not confirm, and lets small moves through', () => {
    const v = validator('0.25');
    const stored = known({ A: ['100', at(-60_000)] });
    expect(v.validate([q('A', 200, { as_of: at(-30_000) })], stored, NOW).rejected).toHaveLength(1);
    // Back near the old price: not a confirmation, just a normal quote.
    expect(v.validate([q('A', 101, { as_of: at(-20_000) })], stored, NOW).accepted).toHaveLength(1);
    // A new spike is held again (the earlier candidate was dropped).
    expect(v.validate([q('A', 300)], stored, NOW).rejected[0].reason).toBe('jump_unconfirmed');
    expect(v.validate([q('A', 124)], stored, NOW).accepted).toHaveLength(1);
  });

  it('a threshold of 0 turns the jump check off', () => {
    const r = validator('0').validate([q('A', 1000)], known({ A: ['1', at(-1000)] }), NOW);
    expect(r.accepted).toHaveLength(1);
  });
});
