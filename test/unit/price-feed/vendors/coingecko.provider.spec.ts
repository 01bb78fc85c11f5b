import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CoinGeckoProvider } from '../../../../src/price-feed/providers/coingecko.provider';
import type { ProviderAsset } from '../../../../src/price-feed/providers/price-provider.interface';
import { VendorFormatError, VendorQuotaError, VendorUnavailableError } from '../../../../src/price-feed/providers/vendor.errors';
import { testConfig, vendorFactory } from '../support/config';
import { VendorServer } from '../support/vendor-server';

const asset = (symbol: string): ProviderAsset => ({ symbol, assetType: 'CRYPTO', lastPrice: null, previousClose: null });

describe('CoinGeckoProvider against recorded CoinGecko answers', () => {
  const server = new VendorServer();
  let cg: CoinGeckoProvider;
  const make = (env: Record<string, string> = {}) => {
    const config = testConfig({ COINGECKO_BASE_URL: server.url, COINGECKO_API_KEY: 'CG-test', VENDOR_TIMEOUT_MS: '3000', VENDOR_RETRIES: '1', ...env });
    return new CoinGeckoProvider(config, vendorFactory(config));
  };

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    cg = make();
  });

  it('asks simple/price for the coin ids with 24h change, volume and last update, and derives the previous close', async () => {
    server.on('/api/v3/simple/price', { fixture: 'coingecko/simple-price-ok.json' });
    const quotes = await cg.getQuotes([asset('BTC-USD'), asset('ETH-USD'), asset('FOO-USD')]);
    const req = server.requests[0];
    expect(req.url.searchParams.get('ids')).toBe('bitcoin,ethereum');
    expect(req.url.searchParams.get('vs_currencies')).toBe('usd');
    expect(req.url.searchParams.get('include_24hr_change')).toBe('true');
    expect(req.url.searchParams.get('include_last_updated_at')).toBe('true');
    expect(req.headers['x-cg-demo-api-key']).toBe('CG-test');
    expect(quotes).toHaveLength(2);
    expect(quotes[0]).toEqual({
      symbol: 'BTC-USD',
      price: 37712.0507158218,
      previous_close: '37909.70343295',
      high: null,
      low: null,
      volume: 14906457384.030754,
      as_of: new Date(1701360000 * 1000),
      source: 'coingecko',
    });
    expect(quotes[1]).toMatchObject({ symbol: 'ETH-USD', price: 2027.2958417203 });
  });

  it('uses the pro header for the pro host', async () => {
    const config = testConfig({ COINGECKO_BASE_URL: server.url.replace('127.0.0.1', 'localhost') + '/pro-api', COINGECKO_API_KEY: 'CG-pro' });
    const pro = new CoinGeckoProvider(config, vendorFactory(config));
    server.on('/api/v3/simple/price', { fixture: 'coingecko/simple-price-ok.json' });
    await pro.getQuotes([asset('BTC-USD')]);
    expect(server.requests[0].headers['x-cg-pro-api-key']).toBe('CG-pro');
  });

  it('skips malformed entries and rejects a non-object answer', async () => {
    server.on('/api/v3/simple/price', { fixture: 'coingecko/simple-price-malformed.json' });
    expect(await cg.getQuotes([asset('BTC-USD'), asset('ETH-USD')])).toEqual([]);
    server.on('/api/v3/simple/price', { body: '[]' });
    await expect(cg.getQuotes([asset('BTC-USD')])).rejects.toBeInstanceOf(VendorFormatError);
  });

  it('HTTP 429 with its status body is a quota answer, not retried', async () => {
    server.on('/api/v3/simple/price', { status: 429, fixture: 'coingecko/rate-limited-429.json' });
    await expect(cg.getQuotes([asset('BTC-USD')])).rejects.toBeInstanceOf(VendorQuotaError);
    expect(server.count('/api/v3/simple/price')).toBe(1);
  });

  it('5xx and timeout are retried then reported unavailable', async () => {
    server.on('/api/v3/simple/price', { status: 503, body: 'upstream connect error' });
    await expect(cg.getQuotes([asset('BTC-USD')])).rejects.toBeInstanceOf(VendorUnavailableError);
    expect(server.count('/api/v3/simple/price')).toBe(2);
    cg = make({ VENDOR_TIMEOUT_MS: '150' });
    server.on('/api/v3/simple/price', { fixture: 'coingecko/simple-price-ok.json', delayMs: 800 });
    await expect(cg.getQuotes([asset('BTC-USD')])).rejects.toThrow(/no answer within 150 ms/);
  });

  it('builds daily bars from market_chart (a midnight point closes the day before)', async () => {
    server.on('/api/v3/coins/bitcoin/market_chart', { fixture: 'coingecko/market-chart-bitcoin-5d.json' });
    const bars = await cg.getDailyHistory(asset('BTC-USD'), 5);
    expect(server.requests[0].url.searchParams.get('days')).toBe('5');
    expect(bars.map((b) => b.date)).toEqual(['2023-11-25', '2023-11-26', '2023-11-27', '2023-11-28', '2023-11-29', '2023-11-30']);
    expect(bars[1]).toEqual({
      date: '2023-11-26',
      open: 37479.1263029284,
      high: 37479.1263029284,
      low: 37254.6018820052,
      close: 37254.6018820052,
      volume: 10713596530.47113,
    });
    server.on('/api/v3/coins/bitcoin/market_chart', { body: '{"prices":[[1,"x"]]}' });
    await expect(cg.getDailyHistory(asset('BTC-USD'), 5)).rejects.toBeInstanceOf(VendorFormatError);
  });
});
