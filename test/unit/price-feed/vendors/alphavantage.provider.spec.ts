import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlphaVantageProvider } from '../../../../src/price-feed/providers/alphavantage.provider';
import type { ProviderAsset } from '../../../../src/price-feed/providers/price-provider.interface';
import {
  VendorFormatError,
  VendorQuotaError,
  VendorRateLimitedError,
  VendorRequestError,
  VendorUnavailableError,
} from '../../../../src/price-feed/providers/vendor.errors';
import { testConfig, vendorFactory } from '../support/config';
import { VendorServer } from '../support/vendor-server';

const asset = (symbol: string): ProviderAsset => ({ symbol, assetType: 'STOCK', lastPrice: null, previousClose: null });

describe('AlphaVantageProvider against recorded Alpha Vantage answers', () => {
  const server = new VendorServer();
  let av: AlphaVantageProvider;
  const make = (env: Record<string, string> = {}) => {
    const config = testConfig({
      ALPHAVANTAGE_BASE_URL: server.url,
      ALPHAVANTAGE_API_KEY: 'TESTKEY',
      ALPHAVANTAGE_RATE_PER_MINUTE: '100',
      ALPHAVANTAGE_RATE_PER_DAY: '100',
      VENDOR_TIMEOUT_MS: '3000',
      VENDOR_RETRIES: '1',
      ...env,
    });
    return new AlphaVantageProvider(config, vendorFactory(config));
  };
  const bySymbol = (fixtures: Record<string, string>) => (url: URL) => {
    const f = fixtures[url.searchParams.get('symbol') ?? ''] ?? 'alphavantage/global-quote-empty.json';
    return { fixture: f };
  };

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    av = make();
  });

  it('parses GLOBAL_QUOTE per symbol (decimal strings kept exact), with the API key', async () => {
    server.on('/query', bySymbol({ IBM: 'alphavantage/global-quote-IBM.json', MSFT: 'alphavantage/global-quote-MSFT.json' }));
    const quotes = await av.getQuotes([asset('IBM'), asset('MSFT'), asset('ZZZZ')]);
    const first = server.requests[0].url.searchParams;
    expect([first.get('function'), first.get('symbol'), first.get('apikey')]).toEqual(['GLOBAL_QUOTE', 'IBM', 'TESTKEY']);
    expect(quotes).toEqual([
      {
        symbol: 'IBM',
        price: '158.5600',
        previous_close: '155.6500',
        high: '158.6000',
        low: '155.8800',
        volume: '5733475',
        as_of: new Date('2023-11-30T21:00:00Z'),
        source: 'alphavantage',
      },
      expect.objectContaining({ symbol: 'MSFT', price: '378.9100' }),
    ]);
    expect(server.count('/query')).toBe(3); // ZZZZ answered with an empty "Global Quote": unknown, skipped
  });

  it('dates a quote for today as now, and an earlier trading day at its US close', () => {
    const now = new Date('2024-03-05T15:00:00Z');
    expect(AlphaVantageProvider.asOf('2024-03-05', now)).toBe(now);
    expect(AlphaVantageProvider.asOf('2024-03-04', now).toISOString()).toBe('2024-03-04T21:00:00.000Z');
  });

  it('treats the "Note" and "Information" answers as quota exhaustion and stops the batch there', async () => {
    server.on('/query', { fixture: 'alphavantage/note-rate-limit.json' });
    await expect(av.getQuotes([asset('IBM'), asset('MSFT')])).rejects.toBeInstanceOf(VendorQuotaError);
    expect(server.count('/query')).toBe(1);
    server.on('/query', { fixture: 'alphavantage/information-daily-limit.json' });
    await expect(av.getQuotes([asset('IBM')])).rejects.toThrow(/25 requests per day/);
  });

  it('returns what it got before the quota ran out (the rest fails over)', async () => {
    let n = 0;
    server.on('/query', () => (++n === 1 ? { fixture: 'alphavantage/global-quote-IBM.json' } : { fixture: 'alphavantage/note-rate-limit.json' }));
    const quotes = await av.getQuotes([asset('IBM'), asset('MSFT'), asset('AAPL')]);
    expect(quotes.map((q) => q.symbol)).toEqual(['IBM']);
    expect(n).toBe(2);
  });

  it('"Error Message" skips that symbol; a malformed quote is a format error', async () => {
    server.on(
      '/query',
      bySymbol({ BAD: 'alphavantage/error-message.json', IBM: 'alphavantage/global-quote-IBM.json', HALF: 'alphavantage/global-quote-malformed.json' }),
    );
    expect((await av.getQuotes([asset('BAD'), asset('IBM')])).map((q) => q.symbol)).toEqual(['IBM']);
    await expect(av.getQuotes([asset('BAD')])).rejects.toBeInstanceOf(VendorRequestError);
    await expect(av.getQuotes([asset('HALF')])).rejects.toBeInstanceOf(VendorFormatError);
    server.on('/query', { body: 'not json at all' });
    await expect(av.getQuotes([asset('IBM')])).rejects.toBeInstanceOf(VendorFormatError);
  });

  it('enforces its own per-minute token bucket: no request beyond the budget', async () => {
    av = make({ ALPHAVANTAGE_RATE_PER_MINUTE: '2' });
    server.on('/query', { fixture: 'alphavantage/global-quote-IBM.json' });
    const quotes = await av.getQuotes([asset('IBM'), asset('IBM2'), asset('IBM3')]);
    expect(quotes).toHaveLength(2);
    expect(server.count('/query')).toBe(2);
    await expect(av.getQuotes([asset('IBM')])).rejects.toBeInstanceOf(VendorRateLimitedError);
    expect(server.count('/query')).toBe(2);
  });

  it('enforces the per-day budget too (25 a day on the free tier)', async () => {
    av = make({ ALPHAVANTAGE_RATE_PER_DAY: '1' });
    server.on('/query', { fixture: 'alphavantage/global-quote-IBM.json' });
    expect(await av.getQuotes([asset('IBM'), asset('MSFT')])).toHaveLength(1);
    const err = await av.getQuotes([asset('IBM')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VendorRateLimitedError);
    expect((err as VendorRateLimitedError).retryAfterMs).toBeGreaterThan(60_000);
  });

  it('5xx and timeouts: retried, then reported as unavailable', async () => {
    server.on('/query', { status: 502, body: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' });
    await expect(av.getQuotes([asset('IBM')])).rejects.toBeInstanceOf(VendorUnavailableError);
    expect(server.count('/query')).toBe(2);
    av = make({ VENDOR_TIMEOUT_MS: '150' });
    server.on('/query', { fixture: 'alphavantage/global-quote-IBM.json', delayMs: 800 });
    await expect(av.getQuotes([asset('IBM')])).rejects.toThrow(/no answer within 150 ms/);
  });

  it('needs an API key', async () => {
    av = make({ ALPHAVANTAGE_API_KEY: '' });
    await expect(av.getQuotes([asset('IBM')])).rejects.toThrow(/ALPHAVANTAGE_API_KEY is not set/);
    expect(server.count('/query')).toBe(0);
  });

  it('parses TIME_SERIES_DAILY: the last N days up to its last trading day, oldest first', async () => {
    server.on('/query', { fixture: 'alphavantage/time-series-daily-IBM.json' });
    const bars = await av.getDailyHistory(asset('IBM'), 10);
    expect(server.requests[0].url.searchParams.get('function')).toBe('TIME_SERIES_DAILY');
    expect(bars.map((b) => b.date)).toEqual(['2023-11-22', '2023-11-24', '2023-11-27', '2023-11-28', '2023-11-29', '2023-11-30']);
    expect(bars.at(-1)).toEqual({ date: '2023-11-30', open: '155.9400', high: '158.6000', low: '155.8800', close: '158.5600', volume: '5733475' });
  });
});
