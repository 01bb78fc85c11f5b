import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlphaVantageProvider } from '../../../../src/price-feed/providers/alphavantage.provider';
import { CoinGeckoProvider } from '../../../../src/price-feed/providers/coingecko.provider';
import type { ProviderAsset } from '../../../../src/price-feed/providers/price-provider.interface';
import { ProviderRouter } from '../../../../src/price-feed/providers/provider-router.service';
import { ReplayProvider } from '../../../../src/price-feed/providers/replay.provider';
import { SimulatedProvider } from '../../../../src/price-feed/providers/simulated.provider';
import { YahooProvider } from '../../../../src/price-feed/providers/yahoo.provider';
import { testConfig, vendorFactory } from '../support/config';
import { VendorServer } from '../support/vendor-server';
import { observeFor } from '../../../support/poll';

const stock = (symbol: string): ProviderAsset => ({ symbol, assetType: 'STOCK', lastPrice: '100', previousClose: '100' });
const crypto = (symbol: string): ProviderAsset => ({ symbol, assetType: 'CRYPTO', lastPrice: '30000', previousClose: '30000' });
const sources = (quotes: { symbol: string; source: string }[]) => Object.fromEntries(quotes.map((q) => [q.symbol, q.source]));

describe('ProviderRouter: failover along the chain, circuit breaker, rate limits', () => {
  const yahooServer = new VendorServer();
  const avServer = new VendorServer();
  const cgServer = new VendorServer();
  let router: ProviderRouter;
  let yahoo: YahooProvider;

  const build = (env: Record<string, string> = {}) => {
    const config = testConfig({
      PRICE_PROVIDERS: 'stocks=yahoo,alphavantage;crypto=coingecko,simulated;*=simulated',
      YAHOO_BASE_URL: yahooServer.url,
      ALPHAVANTAGE_BASE_URL: avServer.url,
      ALPHAVANTAGE_API_KEY: 'TESTKEY',
      ALPHAVANTAGE_RATE_PER_MINUTE: '100',
      COINGECKO_BASE_URL: cgServer.url,
      VENDOR_TIMEOUT_MS: '3000',
      VENDOR_RETRIES: '0',
      VENDOR_BREAKER_THRESHOLD: '2',
      VENDOR_BREAKER_COOLDOWN_MS: '300',
      ...env,
    });
    const f = vendorFactory(config);
    yahoo = new YahooProvider(config, f);
    router = new ProviderRouter(
      [new SimulatedProvider(config), yahoo, new AlphaVantageProvider(config, f), new CoinGeckoProvider(config, f), new ReplayProvider(config)],
      config,
    );
  };

  beforeAll(async () => {
    await Promise.all([yahooServer.start(), avServer.start(), cgServer.start()]);
  });
  afterAll(async () => {
    await Promise.all([yahooServer.stop(), avServer.stop(), cgServer.stop()]);
  });
  beforeEach(() => {
    for (const s of [yahooServer, avServer, cgServer]) s.reset();
    avServer.on('/query', (url) => ({
      fixture: url.searchParams.get('symbol') === 'MSFT' ? 'alphavantage/global-quote-MSFT.json' : 'alphavantage/global-quote-IBM.json',
    }));
    cgServer.on('/api/v3/simple/price', { fixture: 'coingecko/simple-price-ok.json' });
    build();
  });

  it('uses the first provider of each chain when it works', async () => {
    yahooServer.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json' });
    const r = await router.fetchQuotes([stock('AAPL'), stock('MSFT'), crypto('BTC-USD')]);
    expect(sources(r.quotes)).toEqual({ AAPL: 'yahoo', MSFT: 'yahoo', 'BTC-USD': 'coingecko' });
    expect(r.unpriced.size).toBe(0);
    expect(avServer.count('/query')).toBe(0);
  });

  it('fails over to the next provider when one is down, and per symbol when one lacks a symbol', async () => {
    yahooServer.on('/v7/finance/quote', { status: 503, body: 'down' });
    cgServer.on('/api/v3/simple/price', { status: 429, fixture: 'coingecko/rate-limited-429.json' });
    const r = await router.fetchQuotes([stock('IBM'), stock('MSFT'), crypto('BTC-USD')]);
    expect(sources(r.quotes)).toEqual({ IBM: 'alphavantage', MSFT: 'alphavantage', 'BTC-USD': 'simulated' });

    // Yahoo answers, but without IBM: only IBM goes to Alpha Vantage.
    build();
    yahooServer.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json' });
    avServer.reset();
    avServer.on('/query', { fixture: 'alphavantage/global-quote-IBM.json' });
    const r2 = await router.fetchQuotes([stock('AAPL'), stock('IBM')]);
    expect(sources(r2.quotes)).toEqual({ AAPL: 'yahoo', IBM: 'alphavantage' });
    expect(avServer.requests.map((q) => q.url.searchParams.get('symbol'))).toEqual(['IBM']);
  });

  it('leaves a symbol nobody could price unpriced, saying why', async () => {
    yahooServer.on('/v7/finance/quote', { status: 500, body: 'boom' });
    avServer.on('/query', { fixture: 'alphavantage/information-daily-limit.json' });
    const r = await router.fetchQuotes([stock('IBM')]);
    expect(r.quotes).toEqual([]);
    expect(r.unpriced.get('IBM')?.join(' | ')).toMatch(/yahoo: .*HTTP 500.*\| alphavantage: .*25 requests per day/);
  });

  it('opens the breaker after repeated failures (no more requests), half-opens after the pause, closes on success', async () => {
    yahooServer.on('/v7/finance/quote', { status: 503, body: 'down' });
    for (let i = 0; i < 2; i++) {
      const r = await router.fetchQuotes([stock('MSFT')]);
      expect(sources(r.quotes)).toEqual({ MSFT: 'alphavantage' });
    }
    expect(yahooServer.count('/v7/')).toBe(2);
    expect(yahoo.http.breakerState).toBe('open');
    expect(router.vendorStates().yahoo).toEqual({ breaker: 'open', last_error: expect.stringMatching(/HTTP 503/) });

    // Open: Yahoo is not even asked; Alpha Vantage serves.
    const r3 = await router.fetchQuotes([stock('MSFT')]);
    expect(sources(r3.quotes)).toEqual({ MSFT: 'alphavantage' });
    expect(yahooServer.count('/v7/')).toBe(2);

    // After the pause one trial request goes through; Yahoo is back, the breaker closes.
    yahooServer.on('/v7/finance/quote', { fixture: 'yahoo/quote-v7-ok.json' });
    await observeFor(350, 'the breaker cooldown (300 ms) passes');
    const r4 = await router.fetchQuotes([stock('MSFT')]);
    expect(sources(r4.quotes)).toEqual({ MSFT: 'yahoo' });
    expect(yahooServer.count('/v7/')).toBe(3);
    expect(yahoo.http.breakerState).toBe('closed');
  });

  it('a failed half-open trial opens the breaker again', async () => {
    yahooServer.on('/v7/finance/quote', { status: 503, body: 'down' });
    await router.fetchQuotes([stock('MSFT')]);
    await router.fetchQuotes([stock('MSFT')]);
    expect(yahoo.http.breakerState).toBe('open');
    await observeFor(350, 'the breaker cooldown (300 ms) passes');
    await router.fetchQuotes([stock('MSFT')]);
    expect(yahooServer.count('/v7/')).toBe(3);
    expect(yahoo.http.breakerState).toBe('open');
    await router.fetchQuotes([stock('MSFT')]);
    expect(yahooServer.count('/v7/')).toBe(3);
  });

  it('an exhausted rate-limit bucket sends the rest of the batch to the next provider', async () => {
    build({ PRICE_PROVIDERS: 'stocks=alphavantage,simulated', ALPHAVANTAGE_RATE_PER_MINUTE: '1' });
    const r = await router.fetchQuotes([stock('IBM'), stock('MSFT'), stock('AAPL')]);
    expect(sources(r.quotes)).toEqual({ IBM: 'alphavantage', MSFT: 'simulated', AAPL: 'simulated' });
    expect(avServer.count('/query')).toBe(1);
  });

  it('history fails over too', async () => {
    build({ PRICE_PROVIDERS: 'stocks=yahoo,simulated' });
    yahooServer.on('/v8/finance/chart/', { status: 503, body: 'down' });
    const h = await router.fetchHistory(stock('AAPL'), 10);
    expect(h.source).toBe('simulated');
    expect(h.bars.length).toBeGreaterThan(5);
    expect(h.errors[0]).toMatch(/yahoo/);
  });
});
