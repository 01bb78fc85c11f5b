import { describe, expect, it } from 'vitest';
import { loadCatalog, parseCatalog, SYMBOL_PATTERN } from '../../../src/assets/catalog/catalog';

describe('shipped asset catalog', () => {
  const catalog = loadCatalog();

  it("has at least 100 real symbols including the specification guide's AAPL, MSFT and GOOGL", () => {
    expect(catalog.length).toBeGreaterThanOrEqual(100);
    const symbols = catalog.map((e) => e.symbol);
    for (const s of ['AAPL', 'MSFT', 'GOOGL', 'SPY', 'QQQ', 'VTI', 'BTC-USD', 'ETH-USD', 'EURUSD', 'USDJPY']) expect(symbols).toContain(s);
    expect(new Set(symbols).size).toBe(symbols.length);
  });

  it('covers every asset type in realistic numbers', () => {
    const count = (t: string) => catalog.filter((e) => e.asset_type === t).length;
    expect(count('STOCK')).toBeGreaterThanOrEqual(60);
    expect(count('ETF')).toBeGreaterThanOrEqual(15);
    expect(count('CRYPTO')).toBeGreaterThanOrEqual(12);
    expect(count('FOREX')).toBeGreaterThanOrEqual(6);
    expect(count('FUND') + count('BOND')).toBeGreaterThanOrEqual(3);
  });

  it('follows the symbol conventions (crypto BASE-QUOTE with a coingecko id, forex six letters)', () => {
    for (const e of catalog) {
      expect(e.symbol).toMatch(SYMBOL_PATTERN);
      if (e.asset_type === 'CRYPTO') {
        expect(e.symbol).toMatch(/^[A-Z0-9]+-USD$/);
        expect(e.coingecko_id).toMatch(/^[a-z0-9-]+$/);
      } else {
        expect(e.coingecko_id).toBeUndefined();
      }
      if (e.asset_type === 'FOREX') expect(e.symbol).toMatch(/^[A-Z]{6}$/);
    }
  });

  it('gives plausible reference prices and volatilities', () => {
    const bySymbol = new Map(catalog.map((e) => [e.symbol, e]));
    expect(Number(bySymbol.get('BTC-USD')!.reference_price)).toBeGreaterThan(10_000);
    expect(Number(bySymbol.get('EURUSD')!.reference_price)).toBeGreaterThan(0.5);
    expect(Number(bySymbol.get('EURUSD')!.reference_price)).toBeLessThan(2);
    for (const e of catalog) {
      expect(e.reference_price).toMatch(/^\d+(\.\d+)?$/);
      const v = Number(e.volatility);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(0.1);
    }
    // Crypto moves more than FX.
    expect(Number(bySymbol.get('BTC-USD')!.volatility)).toBeGreaterThan(Number(bySymbol.get('EURUSD')!.volatility));
  });
});

describe('parseCatalog', () => {
  const good = { symbol: 'ABC', name: 'ABC Corp', asset_type: 'STOCK', currency: 'USD', exchange: 'NYSE', reference_price: '10.5', volatility: '0.02' };

  it('accepts a valid entry', () => {
    expect(parseCatalog([good])).toEqual([good]);
  });

  it.each([
    ['not an array', { foo: 1 }, /JSON array/],
    ['lower-case symbol', [{ ...good, symbol: 'abc' }], /symbol must match/],
    ['unknown type', [{ ...good, asset_type: 'OPTION' }], /asset_type/],
    ['zero price', [{ ...good, reference_price: '0' }], /reference_price/],
    ['float price', [{ ...good, reference_price: 10.5 }], /reference_price/],
    ['volatility >= 1', [{ ...good, volatility: '1.5' }], /volatility/],
    ['duplicate', [good, good], /duplicate/],
    ['missing name', [{ ...good, name: undefined }], /name/],
  ])('rejects %s', (_label, raw, message) => {
    expect(() => parseCatalog(raw)).toThrow(message);
  });
});
