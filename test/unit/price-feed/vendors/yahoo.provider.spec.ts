import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../../../../src/database/embedded-postgres';
import type { ProviderAsset } from '../../../../src/price-feed/providers/price-provider.interface';
import { VendorCircuitOpenError, VendorFormatError, VendorQuotaError, VendorUnavailableError } from '../../../../src/price-feed/providers/vendor.errors';
import { YahooProvider } from '../../../../src/price-feed/providers/yahoo.provider';
import { testConfig, vendorFactory } from '../support/config';
import { VendorServer } from '../support/vendor-server';

const asset = (symbol: string, assetType: ProviderAsset['assetType'] = 'STOCK'): ProviderAsset => ({ symbol, assetType, lastPrice: null, previousClose: null });
const ASSETS = [asset('AAPL'), asset('MSFT'), asset('EURUSD', 'FOREX')];

describe('YahooProvider against recorded Yahoo answers', () => {
  const server = new VendorServer();
  let yahoo: YahooProvider;

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  const make = (env: Record<string, string> = {}) => {
    const config = testConfig({
      YAHOO_BASE_URL: server.url,
      VENDOR_TIMEOUT_MS: '3000',
      VENDOR_RETRIES: '2',
      VENDOR_BREAKER_THRESHOLD: '3',
      VENDOR_BREAKER_COOLDOWN_MS: '60000',
      ...env,
    });
    return new YahooProvider(config, vendorFactory(config));
  };
  beforeEach(() => {
    server.reset();
    yahoo = make();
  });

  it('maps symbols to Yahoo (EURUSD=X, BRK-B) and parses a v7 batch quote', async () => {
    server.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json' });
    const quotes = await yahoo.getQuotes(ASSETS);
    expect(server.requests[0].url.searchParams.get('symbols')).toBe('AAPL,MSFT,EURUSD=X');
    expect(YahooProvider.toVendorSymbol({ symbol: 'BRK.B', assetType: 'STOCK' })).toBe('BRK-B');
    expect(quotes).toEqual([
      {
        symbol: 'AAPL',
        price: 189.98,
        previous_close: 188.83,
        high: 190.32,
        low: 188.19,
        volume: 48794366,
        as_of: new Date(1701360000 * 1000),
        source: 'yahoo',
      },
      {
        symbol: 'MSFT',
        price: 378.85,
        previous_close: 380.57,
        high: 380.08,
        low: 376.6,
        volume: 28963426,
        as_of: new Date(1701360001 * 1000),
        source: 'yahoo',
      },
      { symbol: 'EURUSD', price: 1.0891, previous_close: 1.09, high: 1.0954, low: 1.0876, volume: 0, as_of: new Date(1701359400 * 1000), source: 'yahoo' },
    ]);
  });

  it('falls back to the v8 chart endpoint per symbol when v7 asks for a crumb (401), and remembers it', async () => {
    server.on('/v7/finance/quote', { status: 401, fixture: 'yahoo/quote-v7-unauthorized.json' });
    server.on('/v8/finance/chart/AAPL', { fixture: 'yahoo/chart-AAPL-1d.json' });
    server.on('/v8/finance/chart/MSFT', { fixture: 'yahoo/chart-MSFT-1d.json' });
    server.on('/v8/finance/chart/', { status: 404, fixture: 'yahoo/chart-not-found.json' });
    const quotes = await yahoo.getQuotes(ASSETS);
    expect(quotes.map((q) => [q.symbol, q.price, q.previous_close, q.high, q.low])).toEqual([
      ['AAPL', 189.95, 189.37, 190.32, 188.19],
      ['MSFT', 378.91, 382.7, 380.08, 376.6],
    ]);
    expect(server.count('/v8/finance/chart/EURUSD%3DX')).toBe(1);
    await yahoo.getQuotes([asset('AAPL')]);
    expect(server.count('/v7/')).toBe(1);
  });

  it('parses daily history from the v8 chart, skipping null bars', async () => {
    server.on('/v8/finance/chart/AAPL', { fixture: 'yahoo/chart-AAPL-history.json' });
    const bars = await yahoo.getDailyHistory(asset('AAPL'), 7);
    expect(server.requests[0].url.searchParams.get('interval')).toBe('1d');
    expect(bars).toHaveLength(6);
    expect(bars[0]).toEqual({ date: '2023-11-23', open: 191.49, high: 191.91, low: 189.88, close: 191.31, volume: 39617700 });
    expect(bars.at(-1)).toMatchObject({ date: '2023-11-30', close: 189.95 });
    server.on('/v8/finance/chart/AAPL', { fixture: 'yahoo/chart-history-with-gaps.json' });
    expect((await yahoo.getDailyHistory(asset('AAPL'), 7)).map((b) => b.date)).toEqual(['2023-11-23', '2023-11-27']);
  });

  it('reports malformed answers (HTML consent page, missing result) as format errors without retrying', async () => {
    server.on('/v7/finance/quote', { fixture: 'yahoo/consent-page.html' });
    await expect(yahoo.getQuotes(ASSETS)).rejects.toBeInstanceOf(VendorFormatError);
    server.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-malformed.json' });
    await expect(yahoo.getQuotes(ASSETS)).rejects.toThrow(/quoteResponse.result missing/);
    expect(server.count('/v7/')).toBe(2);
  });

  it('treats HTTP 429 as a quota answer (no retry)', async () => {
    server.on('/v7/finance/quote', { status: 429, fixture: 'yahoo/too-many-requests.txt' });
    await expect(yahoo.getQuotes(ASSETS)).rejects.toBeInstanceOf(VendorQuotaError);
    expect(server.count('/v7/')).toBe(1);
  });

  it('retries 5xx with backoff and succeeds when the vendor recovers', async () => {
    let n = 0;
    server.on('/v7/finance/quote', () =>
      ++n < 3 ? { status: 503, body: '<html>Service Unavailable</html>', contentType: 'text/html' } : { fixture: 'yahoo/quote-v7-ok.json' },
    );
    const quotes = await yahoo.getQuotes(ASSETS);
    expect(quotes).toHaveLength(3);
    expect(n).toBe(3);
  });

  it('gives up after the retries on a persistent 5xx, then the breaker opens and stops calling', async () => {
    server.on('/v7/finance/quote', { status: 500, body: '{"finance":{"result":null,"error":{"code":"Internal Server Error","description":""}}}' });
    await expect(yahoo.getQuotes(ASSETS)).rejects.toBeInstanceOf(VendorUnavailableError);
    expect(server.count('/v7/')).toBe(3); // 1 + 2 retries; the breaker (threshold 3) is now open
    expect(yahoo.http.breakerState).toBe('open');
    await expect(yahoo.getQuotes(ASSETS)).rejects.toBeInstanceOf(VendorCircuitOpenError);
    expect(server.count('/v7/')).toBe(3);
  });

  it('times out a vendor that does not answer (VENDOR_TIMEOUT_MS), with retries', async () => {
    yahoo = make({ VENDOR_TIMEOUT_MS: '150' });
    server.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json', delayMs: 1000 });
    const err = await yahoo.getQuotes(ASSETS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VendorUnavailableError);
    expect((err as Error).message).toMatch(/no answer within 150 ms/);
    expect(server.count('/v7/')).toBe(3);
  });

  it('reports a refused connection as unavailable', async () => {
    const config = testConfig({ YAHOO_BASE_URL: `http://127.0.0.1:${await freePort()}`, VENDOR_RETRIES: '0' });
    const y = new YahooProvider(config, vendorFactory(config));
    await expect(y.getQuotes(ASSETS)).rejects.toThrow(/request failed: ECONNREFUSED/);
  });
});
