import { describe, expect, it } from 'vitest';
import { FxRates, localCosts, transactionsInBase } from '../../../src/portfolios/fx/fx-history';
import { convertScaled, divRound, FxPaths, pairCurrencies } from '../../../src/portfolios/fx/fx-paths';
import type { LedgerTransaction } from '../../../src/portfolios/ledger/ledger.types';

const CATALOG_PAIRS = ['EURUSD', 'GBPUSD', 'AUDUSD', 'NZDUSD', 'USDJPY', 'USDCHF', 'USDCAD'];
const f8 = (s: string) => BigInt(Math.round(Number(s) * 1e8));

describe('FxPaths', () => {
  const paths = new FxPaths(CATALOG_PAIRS);

  it('reads pair symbols and ignores anything else', () => {
    expect(pairCurrencies('EURUSD')).toEqual(['EUR', 'USD']);
    expect(pairCurrencies('AAPL')).toBeNull();
    expect(pairCurrencies('USDUSD')).toBeNull();
    expect(new FxPaths(['AAPL', 'EURUSD', 'BTC-USD']).has('BTC-USD')).toBe(false);
    expect(new FxPaths(['AAPL', 'EURUSD']).has('EURUSD')).toBe(true);
  });

  it('prefers no conversion, then a direct pair either way round, then through USD', () => {
    expect(paths.path('USD', 'USD')).toEqual([]);
    expect(paths.path('EUR', 'USD')).toEqual([{ symbol: 'EURUSD', divide: false }]);
    expect(paths.path('USD', 'EUR')).toEqual([{ symbol: 'EURUSD', divide: true }]);
    expect(paths.path('JPY', 'USD')).toEqual([{ symbol: 'USDJPY', divide: true }]);
    expect(paths.path('EUR', 'JPY')).toEqual([
      { symbol: 'EURUSD', divide: false },
      { symbol: 'USDJPY', divide: false },
    ]);
    expect(paths.path('CHF', 'GBP')).toEqual([
      { symbol: 'USDCHF', divide: true },
      { symbol: 'GBPUSD', divide: true },
    ]);
    const withCross = new FxPaths([...CATALOG_PAIRS, 'EURGBP']);
    expect(withCross.path('GBP', 'EUR')).toEqual([{ symbol: 'EURGBP', divide: true }]);
  });

  it('has no path for a currency without pairs', () => {
    expect(paths.path('SEK', 'USD')).toBeNull();
    expect(paths.path('USD', 'SEK')).toBeNull();
    expect(paths.path('EUR', 'SEK')).toBeNull();
  });
});

describe('convertScaled', () => {
  const prices: Record<string, bigint> = { EURUSD: f8('1.25'), USDJPY: f8('150'), GBPUSD: f8('1.3') };
  const priceOf = (s: string) => prices[s] ?? null;
  const paths = new FxPaths(Object.keys(prices));

  it('multiplies exactly and divides with one rounding, half away from zero', () => {
    // 100 EUR = 125 USD (fixed16 amounts).
    const e16 = 10n ** 16n;
    expect(convertScaled(100n * e16, paths.path('EUR', 'USD')!, priceOf)).toBe(125n * e16);
    expect(convertScaled(125n * e16, paths.path('USD', 'EUR')!, priceOf)).toBe(100n * e16);
    // 1 USD in GBP = 1 / 1.3 = 0.769230769230769230… → 16 places, rounded.
    expect(convertScaled(e16, paths.path('USD', 'GBP')!, priceOf)).toBe(7692307692307692n);
    expect(convertScaled(-e16, paths.path('USD', 'GBP')!, priceOf)).toBe(-7692307692307692n);
    // 2 USD in GBP = 1.538461538461538461… → …5385 (rounded up).
    expect(convertScaled(2n * e16, paths.path('USD', 'GBP')!, priceOf)).toBe(15384615384615385n);
    // 1 EUR in JPY through USD: 1.25 × 150 = 187.5, exact.
    expect(convertScaled(e16, paths.path('EUR', 'JPY')!, priceOf)).toBe(1875n * 10n ** 15n);
  });

  it('is null when a pair has no price', () => {
    expect(convertScaled(1n, [{ symbol: 'NZDUSD', divide: false }], priceOf)).toBeNull();
    expect(convertScaled(1n, [], priceOf)).toBe(1n);
  });

  it('divRound rounds halves away from zero', () => {
    expect(divRound(5n, 2n)).toBe(3n);
    expect(divRound(-5n, 2n)).toBe(-3n);
    expect(divRound(4n, 3n)).toBe(1n);
    expect(divRound(-4n, 3n)).toBe(-1n);
  });
});

describe('FxRates and the ledger in the base currency', () => {
  const paths = new FxPaths(['EURUSD']);
  const closes = new Map([
    [
      'EURUSD',
      [
        { day: '2026-01-05', close: '1.25' },
        { day: '2026-01-07', close: '1.6' },
      ],
    ],
  ]);
  const rates = new FxRates('EUR', paths, closes, new Map([['EURUSD', '2']]), '2026-02-01');

  it('takes the last close on or before the day, the first one before any, and the live price today', () => {
    expect(rates.rate('EUR', '2026-01-06')!.toString()).toBe('1');
    expect(rates.rate('USD', '2026-01-05')!.toString()).toBe('0.8');
    expect(rates.rate('USD', '2026-01-06')!.toString()).toBe('0.8');
    expect(rates.rate('USD', '2026-01-08')!.toString()).toBe('0.625');
    expect(rates.rate('USD', '2025-12-01')!.toString()).toBe('0.8');
    expect(rates.rate('USD', '2026-02-01')!.toString()).toBe('0.5');
    expect(rates.rate('SEK', '2026-01-06')).toBeNull();
  });

  const tx = (t: Partial<LedgerTransaction>): LedgerTransaction => ({
    seq: 1,
    type: 'BUY',
    symbol: 'X',
    quantity: '1',
    price: '1',
    fee: '0',
    currency: 'USD',
    date: '2026-01-05',
    ...t,
  });

  it('converts price and fee at the rate of the transaction’s date, and leaves base amounts alone', () => {
    const res = transactionsInBase(
      [
        tx({ seq: 1, price: '100', fee: '5' }),
        tx({ seq: 2, type: 'DEPOSIT', symbol: null, quantity: null, price: '10', date: '2026-01-07' }),
        tx({ seq: 3, price: '7', currency: 'EUR' }),
      ],
      rates,
    );
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.txs.map((t) => [t.price, t.fee, t.currency])).toEqual([
      ['80', '4', 'EUR'],
      ['6.25', '0', 'EUR'],
      ['7', '0', 'EUR'],
    ]);
    expect(transactionsInBase([tx({ currency: 'SEK' })], rates)).toEqual({ ok: false, currency: 'SEK', date: '2026-01-05' });
  });

  it('replays the local cost of foreign holdings in their own currency', () => {
    const local = localCosts(
      [
        tx({ seq: 1, quantity: '10', price: '100' }),
        // Bought in EUR: 50 EUR at 1.6 = 80 USD.
        tx({ seq: 2, quantity: '1', price: '50', currency: 'EUR', date: '2026-01-07' }),
        tx({ seq: 3, type: 'SELL', quantity: '5.5', price: '120', date: '2026-01-08' }),
        tx({ seq: 4, symbol: 'HOME', quantity: '1', price: '1', currency: 'EUR' }),
      ],
      (s) => (s === 'HOME' ? 'EUR' : 'USD'),
      rates,
    );
    // 1080 USD for 11 shares, 5.5 sold at the average cost: 540 left.
    expect(Object.fromEntries(local)).toEqual({ X: '540' });
  });
});
