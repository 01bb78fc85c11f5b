import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { D } from '../../../src/common/decimal';
import type { RawQuote } from '../../../src/price-feed/providers/price-provider.interface';
import { KnownPrice, QuoteValidator, ValidationResult } from '../../../src/price-feed/validation/quote-validator';
import { testConfig } from './support/config';
import { ReferenceQuoteValidator } from './support/reference-quote-validator';

// QuoteValidator states its rules once, over exact canonical decimal strings, so that plain
// decimals (almost every quote) never touch decimal.js. It must give exactly what the same rules
// give when every number goes through decimal.js (support/reference-quote-validator.ts: the
// validator's former decimal.js path, kept as the oracle), for every input: same accepted quotes,
// same rejections with the same reasons and details, same repeats, batch after batch.

const NOW = Date.parse('2024-03-05T15:00:00Z');

/** mulberry32: a fixed sequence per seed, so a failure can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const digits = (n: number) => Array.from({ length: n }, () => String(int(10))).join('');
  return { next, int, pick, digits };
}
type Rng = ReturnType<typeof rng>;

const EDGE_STRINGS = [
  '0',
  '0.0',
  '-0',
  '+0',
  '00',
  '00012.5000',
  '1.',
  '.5',
  '5.',
  '1e2',
  '1E-8',
  '1e+21',
  '1.5e3',
  '2e-9',
  '  12.5 ',
  '12.5\n',
  '\t7',
  '+3',
  '-3',
  '-0.00000001',
  'NaN',
  'nan',
  '-NaN',
  'Infinity',
  '-inf',
  'INF',
  'abc',
  '1_0',
  '0x10',
  '1,5',
  '1.2.3',
  'e5',
  '.',
  '-',
  '1.123456789',
  '1.999999999',
  '0.999999995',
  '0.000000001',
  '0.000000005',
  '0.00000001',
  '0.000000010',
  '9999999999999999.99999999',
  '9999999999999999.999999995',
  '10000000000000000',
  '1e16',
  '99999999999999999999.99999999',
  '100000000000000000000',
  '1e20',
  '123456789012345678901234567890.5',
  '1.00000000000000000000000001',
  '0000000000000000000000000.1',
  '1e400',
  '1e-400',
  '1e-9',
  '1e9999999999',
  '-1e-9999999999',
  '0.000000004',
  '12345678901234567',
  '9999999999999999.9',
  '5e-324',
  '100',
  '100.00000000',
  '150.25',
  '189.98',
  // Magnitude limits of a literal (leading digit at 10^±100), spelled plainly and with an exponent.
  '1' + '0'.repeat(100),
  '9'.repeat(101),
  '1' + '0'.repeat(101),
  '-1' + '0'.repeat(101),
  '0.' + '0'.repeat(99) + '1',
  '0.' + '0'.repeat(100) + '1',
  '000' + '1' + '0'.repeat(100) + '.000',
  '1e100',
  '1e101',
  '1e-100',
  '1e-101',
];
const EDGE_NUMBERS = [
  0,
  -0,
  1e-7,
  1e-8,
  1e21,
  1e16,
  1e20,
  189.98,
  NaN,
  Infinity,
  -Infinity,
  -5,
  0.1 + 0.2,
  Number.MAX_VALUE,
  5e-324,
  2 ** 53 + 1,
  123456.789,
  1 / 3,
];

/** A value for a numeric field: mostly plain decimals, sometimes anything. */
function value(r: Rng): RawQuote['price'] | undefined {
  const k = r.int(100);
  if (k < 55) {
    const int = r.int(10) === 0 ? '0'.repeat(r.int(3)) + r.digits(r.int(4)) : String(1 + r.int(999));
    const frac = r.int(3) === 0 ? '' : r.digits(r.int(11)) + (r.int(4) === 0 ? '0'.repeat(1 + r.int(3)) : '');
    return frac || r.int(5) === 0 ? `${int || '0'}.${frac}` : int || '0';
  }
  if (k < 65) return r.digits(1 + r.int(24)) + (r.int(2) ? `.${r.digits(1 + r.int(12))}` : '');
  if (k < 75) return r.pick(EDGE_STRINGS);
  if (k < 82) return r.pick(EDGE_NUMBERS);
  if (k < 87) return Math.round(r.next() * 10 ** r.int(12)) / 10 ** r.int(10);
  if (k < 90) return `${r.pick(['', '-', '+'])}${r.digits(1 + r.int(5))}.${r.digits(r.int(6))}e${r.pick(['', '-', '+'])}${r.int(25)}`;
  if (k < 97) return r.pick([null, undefined, '']);
  return r.pick([true, {}, [], '１２'] as unknown as RawQuote['price'][]);
}

const SYMBOLS = ['AAPL', 'MSFT', 'BTC-USD', 'ETH', 'X'];

function quote(r: Rng): RawQuote {
  const k = r.int(100);
  const asOf =
    k < 2
      ? new Date('nope')
      : k < 4
        ? ('2024-03-05' as unknown as Date)
        : new Date(NOW + r.pick([-60_000, -1000, -1, 0, 0, 0, 4_999, 5_000, 5_001, 60_000]) - r.int(3) * 1000);
  const symbol = r.int(50) === 0 ? r.pick([null, '', 42] as unknown as string[]) : `${r.pick(['', ' '])}${r.pick(SYMBOLS)}${r.pick(['', '', ' '])}`;
  const q = { symbol, as_of: asOf, source: r.pick(['yahoo', 'coingecko', 'test']) } as RawQuote;
  const fields = ['price', 'previous_close', 'high', 'low', 'volume'] as const;
  for (const f of fields) {
    const v = value(r);
    if (v !== undefined) (q as unknown as Record<string, unknown>)[f] = v;
  }
  return q;
}

/** What the database would hand back as known prices: mostly canonical, sometimes other spellings. */
function knownPrices(r: Rng): Map<string, KnownPrice> {
  const m = new Map<string, KnownPrice>();
  for (const s of SYMBOLS) {
    if (r.int(4) === 0) continue;
    const k = r.int(20);
    const price =
      k === 0
        ? null
        : k === 1
          ? r.pick(['100.0', '1e2', '0100', '100.00000000', '0.00000001', '0'])
          : new D(String(1 + r.int(500))).plus(new D(r.digits(8)).div(1e8)).toFixed();
    m.set(s, { price, asOf: r.int(10) === 0 ? null : new Date(NOW + r.pick([-60_000, -2000, -1000, 0])) });
  }
  return m;
}

function pair(threshold: string) {
  const fast = new QuoteValidator(testConfig({ PRICE_JUMP_THRESHOLD: threshold }));
  const reference = new ReferenceQuoteValidator(threshold);
  return { fast, reference };
}

const outcome = (f: () => ValidationResult) => {
  try {
    return { result: f() };
  } catch (err) {
    return { error: String(err) };
  }
};

describe('QuoteValidator = the same rules in decimal.js', () => {
  beforeAll(() => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterAll(() => vi.restoreAllMocks());

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('random batches (seed %i): same accepted, rejected (with details) and unchanged, batch after batch', (seed) => {
    const r = rng(seed);
    const { fast, reference } = pair(r.pick(['0', '0.25', '0.1', '0.3333333333', '1', '0.00000001']));
    for (let batch = 0; batch < 60; batch++) {
      const quotes = Array.from({ length: 1 + r.int(40) }, () => quote(r));
      const known = knownPrices(r);
      expect(outcome(() => fast.validate(quotes, known, NOW))).toEqual(outcome(() => reference.validate(quotes, known, NOW)));
    }
  });

  it('every field, one edge value at a time, against a valid quote', () => {
    const { fast, reference } = pair('0.25');
    const values = [...EDGE_STRINGS, ...EDGE_NUMBERS, null, undefined, ''];
    for (const field of ['price', 'previous_close', 'high', 'low', 'volume'] as const) {
      for (const v of values) {
        const q = {
          symbol: 'AAPL',
          price: '100',
          previous_close: '99',
          high: '101',
          low: '98',
          volume: '1000',
          as_of: new Date(NOW - 1000),
          source: 't',
          [field]: v,
        } as RawQuote;
        const known = new Map<string, KnownPrice>([['AAPL', { price: '100', asOf: new Date(NOW - 2000) }]]);
        expect(
          outcome(() => fast.validate([q], known, NOW)),
          `${field} = ${JSON.stringify(v)}`,
        ).toEqual(outcome(() => reference.validate([q], known, NOW)));
      }
    }
  });

  it('jumps right at the threshold: the same quotes are held, confirmed or let through', () => {
    const r = rng(99);
    for (const threshold of ['0.25', '0.1', '0.3333333333', '0.00000001']) {
      const { fast, reference } = pair(threshold);
      const t = new D(threshold);
      for (let i = 0; i < 1000; i++) {
        // Up to 15 integer digits: a 1e-8 step is then below a double's resolution of the move.
        const last = new D(`1${r.digits(r.int(15))}`).plus(new D(r.digits(8)).div(1e8));
        // last × (1 ± threshold), then a step of 0 or ±1e-8 around it, rounded to 8 decimals like every stored price.
        const edge = last.mul(r.int(2) ? t.plus(1) : new D(1).minus(t));
        const price = edge.plus(new D(r.pick([-1, 0, 0, 1])).div(1e8)).toDecimalPlaces(8);
        if (price.lte(0)) continue;
        const known = new Map<string, KnownPrice>([['A', { price: last.toFixed(), asOf: new Date(NOW - 60_000) }]]);
        const quotes: RawQuote[] = [{ symbol: 'A', price: price.toFixed(), as_of: new Date(NOW - 1000 + r.int(2)), source: 't' }];
        expect(fast.validate(quotes, known, NOW)).toEqual(reference.validate(quotes, known, NOW));
      }
    }
  });

  it('plain quotes do not touch decimal.js at all (the ingest benchmark depends on it)', () => {
    const { fast, reference } = pair('0.25');
    // Every Decimal (D is a clone) shares one prototype: no method of it may run while plain quotes are validated.
    const proto = Object.getPrototypeOf(new D(1)) as Record<string, unknown>;
    const methods = [
      'toFixed',
      'toDecimalPlaces',
      'comparedTo',
      'cmp',
      'minus',
      'plus',
      'div',
      'times',
      'abs',
      'gt',
      'gte',
      'lt',
      'lte',
      'eq',
      'isZero',
      'isFinite',
    ];
    const spies = methods.filter((m) => typeof proto[m] === 'function').map((m) => vi.spyOn(proto as Record<string, () => unknown>, m));
    expect(spies.length).toBeGreaterThanOrEqual(10);
    const quotes: RawQuote[] = [
      { symbol: 'AAPL', price: '189.98', previous_close: '188.83', high: 190.32, low: '188.19', volume: 48794366, as_of: new Date(NOW - 1000), source: 't' },
      { symbol: 'AAPL', price: '190.5000', high: '191', low: '189', volume: '1000', as_of: new Date(NOW - 500), source: 't' },
      { symbol: 'MSFT', price: 412, as_of: new Date(NOW - 500), source: 't' },
    ];
    const known = new Map<string, KnownPrice>([['AAPL', { price: '188.5', asOf: new Date(NOW - 60_000) }]]);
    const res = fast.validate(quotes, known, NOW);
    const used = spies.filter((s) => s.mock.calls.length > 0).map((s) => s.getMockName());
    for (const s of spies) s.mockRestore();
    expect(used).toEqual([]);
    // The spies do see decimal.js when it is used (an exponent needs it).
    const probe = vi.spyOn(proto as Record<string, () => unknown>, 'toFixed');
    fast.validate([{ symbol: 'X', price: '1.5e2', as_of: new Date(NOW - 1000), source: 't' }], new Map(), NOW);
    expect(probe).toHaveBeenCalled();
    probe.mockRestore();
    expect(res).toEqual(reference.validate(quotes, known, NOW));
    expect(res.accepted).toEqual([
      { symbol: 'AAPL', price: '190.5', previous_close: '188.83', high: '191', low: '188.19', volume: '48794366', as_of: new Date(NOW - 500), source: 't' },
      { symbol: 'MSFT', price: '412', previous_close: null, high: null, low: null, volume: null, as_of: new Date(NOW - 500), source: 't' },
    ]);
  });
});
