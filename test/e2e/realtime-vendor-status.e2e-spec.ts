import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MarketClock } from '../../src/assets/market-clock';
import { BusSigner } from '../../src/bus/bus-signer';
import type { BusMessages } from '../../src/bus/bus.messages';
import { MessageBus } from '../../src/bus/message-bus';
import { FeedStatusTracker } from '../../src/price-feed/feed/feed-status.tracker';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { VendorStatusWatcher } from '../../src/realtime/hub/vendor-status.watcher';
import { FEED_STATUS_EXAMPLES } from '../../src/realtime/protocol/message-examples';
import { startTestApp, TEST_BUS_SECRET, type TestApp } from '../support/app';
import { checkSchema } from '../support/json-schema-lite';
import { metricSamples } from '../support/output-capture';
import { poll } from '../support/poll';
import { Envelope, openProbe, Probe } from '../support/realtime-probes';
import { VendorServer } from '../unit/price-feed/support/vendor-server';

const REDIS_URL = inject('redisUrl');
const FEED_REASONS = new Set(['vendor_unavailable', 'no_quotes', 'vendor_recovered', 'quotes_resumed']);
const STALE_CYCLES = 3;
const INTERVAL_MS = 250;
/** Tuesday 13 January 2026, 10:00 New York: every market open, so no market `status` gets in the way. */
const MARKETS_OPEN = '2026-01-13T15:00:00.000Z';
/** Symbols of the stocks chain (yahoo only): STOCK, ETF and FUND follow it. */
const STOCKS_CHAIN = ['AAPL', 'MSFT', 'SPY', 'VFIAX'];
/** Crypto's chain is yahoo, then simulated: a yahoo outage is no outage for it. */
const WATCHED = [...STOCKS_CHAIN, 'BTC-USD', 'EURUSD'];
const DROPPED = 'realtime_bus_messages_dropped_total';

/**
 * `status` messages about vendor trouble, end to end: the price feed (scheduled, in the API
 * process, a 250 ms cycle) prices stocks through a local HTTP server speaking Yahoo's v7 quote
 * format, and crypto through it with the simulated market as fallback; the bus is Redis (so the
 * feed's `feed.status` messages go through the signature and schema checks an API instance applies).
 * Clients are real raw WebSocket and Socket.IO connections.
 */
describe('vendor status: silence that explains itself', { timeout: 120_000 }, () => {
  const prefix = `rmtest-vendor-${randomBytes(6).toString('hex')}:`;
  const yahoo = new VendorServer();
  /** What the fake Yahoo does: answer, fail with 503, and which symbols it leaves out of its answers. */
  const vendor = { down: false, omit: new Set<string>() };
  let t: TestApp;
  let schema: Record<string, unknown>;
  let asyncapi: Record<string, unknown>;
  const open: Probe[] = [];
  let n = 0;

  const connect = async (kind: 'websocket' | 'socketio', target: TestApp = t) => {
    const p = await openProbe(kind, target);
    open.push(p);
    await p.next('connection');
    return p;
  };
  const subscribe = async (p: Probe, symbols: string[]) => {
    const id = ++n;
    p.send('subscribe_asset', { symbols }, id);
    await p.next('subscribed', (m) => m.id === id);
    for (const s of symbols) await p.next('asset_update', (m) => m.data.symbol === s);
  };
  /** A ping answered: everything the server sent before it has arrived. */
  const barrier = async (p: Probe) => {
    const id = ++n;
    p.send('ping', {}, id);
    await p.next('pong', (m) => m.id === id);
  };
  const isFeedStatus = (m: Envelope) => FEED_REASONS.has(m.data?.reason);
  const nextFeedStatus = (p: Probe, timeoutMs = 10_000) => p.next('status', isFeedStatus, timeoutMs);
  /** Feed status messages received and not consumed yet (consumes them). */
  const pendingFeedStatus = (p: Probe) => p.inbox.drain('status').filter(isFeedStatus);
  const fitsSchema = (m: Envelope) => expect(checkSchema(m, schema, asyncapi), JSON.stringify(m)).toEqual([]);
  const yahooBreaker = async () => (await t.app.get(PriceFeedStatus).snapshot()).vendors.yahoo?.breaker;
  const runs = () => t.app.get(PriceFeedStatus).runs;
  const feedStatusMessages: BusMessages['feed.status'][] = [];

  beforeAll(async () => {
    await yahoo.start();
    yahoo.on('/v7/finance/quote', (url) => {
      if (vendor.down) return { status: 503, body: 'Service Unavailable' };
      const time = Math.floor(Date.now() / 1000);
      const result = (url.searchParams.get('symbols') ?? '')
        .split(',')
        .filter((s) => s && !vendor.omit.has(s))
        .map((symbol) => ({ symbol, regularMarketPrice: 100 + (time % 7), regularMarketPreviousClose: 100, regularMarketTime: time }));
      return { body: JSON.stringify({ quoteResponse: { result, error: null } }) };
    });
    t = await startTestApp({
      REDIS_URL,
      REDIS_PREFIX: prefix,
      PRICE_FEED_MODE: 'inprocess',
      PRICE_FEED_CRON: undefined,
      REALTIME_UPDATE_INTERVAL: String(INTERVAL_MS / 1000),
      REALTIME_BATCH_SIZE: '500',
      PRICE_BACKFILL_DAYS: '0',
      PRICE_PROVIDERS: 'stocks=yahoo;crypto=yahoo,simulated;*=simulated',
      YAHOO_BASE_URL: yahoo.url,
      YAHOO_RATE_PER_MINUTE: '100000',
      YAHOO_RATE_PER_DAY: '10000000',
      VENDOR_TIMEOUT_MS: '3000',
      VENDOR_RETRIES: '0',
      VENDOR_BREAKER_THRESHOLD: '2',
      VENDOR_BREAKER_COOLDOWN_MS: '200',
      FEED_STALE_CYCLES: String(STALE_CYCLES),
      FEED_STATUS_REPEAT_SECONDS: '1',
    });
    t.app.get(MarketClock).pin(new Date(MARKETS_OPEN));
    await t.app.get(MessageBus).ready();
    t.app.get(MessageBus).subscribe('feed.status', (m) => feedStatusMessages.push(m));
    asyncapi = (await (await fetch(`${t.url}/realtime/asyncapi.json`)).json()) as Record<string, unknown>;
    schema = (asyncapi as any).components.messages.status.payload;
    await poll('the feed leads and has run', () => t.app.get(PriceFeedStatus).role === 'leader' && runs() >= 2);
  });
  afterAll(async () => {
    await Promise.all(open.map((p) => p.close()));
    t?.app.get(MarketClock).pin(null);
    await t?.close();
    await yahoo.stop();
  });

  it('the vendor examples of the protocol fit the served schema', () => {
    for (const example of FEED_STATUS_EXAMPLES) fitsSchema(example as unknown as Envelope);
  });

  it('a vendor outage: quiet with the vendor reason for the symbols whose whole chain is down, on both transports; live when it answers again', async () => {
    const ws = await connect('websocket');
    const io = await connect('socketio');
    await subscribe(ws, WATCHED);
    await subscribe(io, ['MSFT', 'BTC-USD']);
    expect(t.app.get(FeedStatusTracker).quietSymbols().size).toBe(0);

    vendor.down = true;
    const wsQuiet = await nextFeedStatus(ws);
    const ioQuiet = await nextFeedStatus(io);
    for (const m of [wsQuiet, ioQuiet]) fitsSchema(m);
    expect(await yahooBreaker()).not.toBe('closed');
    // One message per connection, listing that connection's symbols of the chain that is down (crypto still has the simulated market).
    expect({ ...wsQuiet.data, symbols: [...wsQuiet.data.symbols].sort() }).toEqual({
      symbols: [...STOCKS_CHAIN].sort(),
      state: 'quiet',
      reason: 'vendor_unavailable',
      vendor: 'yahoo',
      since: expect.any(String),
      message: expect.stringContaining('yahoo is unavailable'),
    });
    expect(Date.parse(wsQuiet.data.since)).toBeGreaterThan(Date.now() - 30_000);
    expect(ioQuiet.data).toEqual({ ...wsQuiet.data, symbols: ['MSFT'] });

    // Many cycles later (the breaker re-opens after each failed trial), nothing more reaches the clients. On the bus: the
    // feed's repeats of the same set (FEED_STATUS_REPEAT_SECONDS, 1 s here), not a message per cycle.
    const busBefore = feedStatusMessages.length;
    const runsBefore = runs();
    const windowStart = Date.now();
    await poll('eight more feed runs and a repeat on the bus', () => runs() >= runsBefore + 8 && feedStatusMessages.length > busBefore, 10_000);
    await Promise.all([barrier(ws), barrier(io)]);
    expect(pendingFeedStatus(ws)).toEqual([]);
    expect(pendingFeedStatus(io)).toEqual([]);
    const repeats = feedStatusMessages.slice(busBefore);
    expect(repeats.length).toBeLessThanOrEqual(Math.floor((Date.now() - windowStart) / 1000) + 1);
    expect(repeats.length).toBeLessThan(runs() - runsBefore);
    const quietSet = (m: BusMessages['feed.status']) => m.quiet.flatMap((g) => g.symbols.map((s) => `${s} ${g.reason} ${g.vendor} ${g.since}`)).sort();
    for (const m of repeats) expect(quietSet(m)).toEqual(quietSet(repeats[0]));
    expect(quietSet(repeats[0]).filter((e) => WATCHED.includes(e.split(' ')[0]))).toEqual(
      [...STOCKS_CHAIN].sort().map((s) => `${s} vendor_unavailable yahoo ${Date.parse(wsQuiet.data.since)}`),
    );

    vendor.down = false;
    const wsLive = await nextFeedStatus(ws);
    const ioLive = await nextFeedStatus(io);
    for (const m of [wsLive, ioLive]) fitsSchema(m);
    expect(await yahooBreaker()).toBe('closed');
    expect({ ...wsLive.data, symbols: [...wsLive.data.symbols].sort() }).toEqual({
      symbols: [...STOCKS_CHAIN].sort(),
      state: 'live',
      reason: 'vendor_recovered',
      vendor: 'yahoo',
      since: expect.any(String),
      message: expect.stringContaining('yahoo answers again'),
    });
    expect(Date.parse(wsLive.data.since)).toBeGreaterThanOrEqual(Date.parse(wsQuiet.data.since));
    expect(ioLive.data).toEqual({ ...wsLive.data, symbols: ['MSFT'] });
    // Prices flow again.
    const after = Date.now();
    await ws.next('asset_update', (m) => m.data.symbol === 'AAPL' && m.data.source === 'yahoo' && Date.parse(m.data.as_of) >= after - 1_000);
    await Promise.all([barrier(ws), barrier(io)]);
    expect(pendingFeedStatus(ws)).toEqual([]);
    expect(pendingFeedStatus(io)).toEqual([]);
    expect(t.app.get(FeedStatusTracker).quietSymbols().size).toBe(0);
  });

  it(`no quote for a symbol ${STALE_CYCLES} feed cycles in a row: quiet (no_quotes) for it alone, live when quotes resume`, async () => {
    const ws = await connect('websocket');
    const io = await connect('socketio');
    await subscribe(ws, ['AAPL', 'MSFT']);
    await subscribe(io, ['MSFT', 'VFIAX']);

    const runsAtStart = runs();
    vendor.omit.add('MSFT');
    const wsQuiet = await nextFeedStatus(ws);
    const runsAtQuiet = runs();
    const ioQuiet = await nextFeedStatus(io);
    for (const m of [wsQuiet, ioQuiet]) fitsSchema(m);
    // Not before FEED_STALE_CYCLES runs without a quote.
    expect(runsAtQuiet).toBeGreaterThanOrEqual(runsAtStart + STALE_CYCLES);
    expect(wsQuiet.data).toEqual({
      symbols: ['MSFT'],
      state: 'quiet',
      reason: 'no_quotes',
      vendor: null,
      since: expect.any(String),
      message: expect.stringContaining('No quotes'),
    });
    expect(ioQuiet.data).toEqual(wsQuiet.data);
    const runsBefore = runs();
    await poll('four more feed runs', () => runs() >= runsBefore + 4, 5_000);
    await Promise.all([barrier(ws), barrier(io)]);
    expect(pendingFeedStatus(ws)).toEqual([]);
    expect(pendingFeedStatus(io)).toEqual([]);

    vendor.omit.delete('MSFT');
    const wsLive = await nextFeedStatus(ws);
    const ioLive = await nextFeedStatus(io);
    for (const m of [wsLive, ioLive]) fitsSchema(m);
    expect(wsLive.data).toEqual({
      symbols: ['MSFT'],
      state: 'live',
      reason: 'quotes_resumed',
      vendor: null,
      since: expect.any(String),
      message: expect.stringContaining('Quotes resumed'),
    });
    expect(ioLive.data).toEqual(wsLive.data);
  });

  it.each(['websocket', 'socketio'] as const)('a late subscriber (%s) gets the quiet status right after its subscribed reply and snapshot', async (kind) => {
    const early = await connect('websocket');
    await subscribe(early, ['AAPL']);
    vendor.down = true;
    try {
      expect((await nextFeedStatus(early)).data).toMatchObject({ symbols: ['AAPL'], state: 'quiet', reason: 'vendor_unavailable' });

      const late = await connect(kind);
      const id = ++n;
      late.send('subscribe_asset', { symbols: ['AAPL', 'BTC-USD'] }, id);
      await late.next('subscribed', (m) => m.id === id);
      const status = await nextFeedStatus(late, 5_000);
      fitsSchema(status);
      expect(status.data).toEqual({
        symbols: ['AAPL'],
        state: 'quiet',
        reason: 'vendor_unavailable',
        vendor: 'yahoo',
        since: expect.any(String),
        message: expect.stringContaining('yahoo is unavailable'),
      });
      // After the reply and the snapshots.
      const received = late.inbox.received;
      const at = (pred: (m: Envelope) => boolean) => received.findIndex(pred);
      const statusAt = at((m) => m.type === 'status' && isFeedStatus(m));
      expect(at((m) => m.type === 'subscribed')).toBeLessThan(statusAt);
      for (const s of ['AAPL', 'BTC-USD'])
        expect(
          at((m) => m.type === 'asset_update' && m.data.symbol === s),
          s,
        ).toBeLessThan(statusAt);
      await barrier(late);
      expect(pendingFeedStatus(late)).toEqual([]);
    } finally {
      vendor.down = false;
      expect((await nextFeedStatus(early)).data).toMatchObject({ symbols: ['AAPL'], state: 'live', reason: 'vendor_recovered' });
    }
  });

  it('an API instance started during an outage learns the quiet set from the feed, and its subscribers hear the recovery', async () => {
    vendor.down = true;
    let other: TestApp | undefined;
    try {
      await poll('the outage is known', () => t.app.get(FeedStatusTracker).quietSymbols().get('AAPL')?.reason === 'vendor_unavailable');
      other = await startTestApp({ REDIS_URL, REDIS_PREFIX: prefix, PRICE_FEED_MODE: 'external' }, { databaseUrl: t.databaseUrl });
      const watcher = other.app.get(VendorStatusWatcher);
      // The feed repeats its set every FEED_STATUS_REPEAT_SECONDS (1 s here).
      const learned = await poll(
        'the new instance knows AAPL is quiet',
        () => watcher.quietStatusFor(['AAPL', 'BTC-USD']).length > 0 && watcher.quietStatusFor(['AAPL', 'BTC-USD']),
      );
      expect(learned).toEqual([
        {
          symbols: ['AAPL'],
          state: 'quiet',
          reason: 'vendor_unavailable',
          vendor: 'yahoo',
          since: expect.any(String),
          message: expect.stringContaining('yahoo'),
        },
      ]);
      const p = await connect('socketio', other);
      await subscribe(p, ['SPY']);
      vendor.down = false;
      const live = await p.next('status', (m) => isFeedStatus(m) && m.data.state === 'live', 10_000);
      fitsSchema(live);
      expect(live.data).toMatchObject({ symbols: ['SPY'], state: 'live', reason: 'vendor_recovered', vendor: 'yahoo' });
      // Before it, at most the quiet status a new subscriber gets.
      for (const m of pendingFeedStatus(p)) expect(m.data).toMatchObject({ symbols: ['SPY'], state: 'quiet', reason: 'vendor_unavailable' });
      expect(watcher.quietStatusFor(['AAPL', 'SPY'])).toEqual([]);
    } finally {
      vendor.down = false;
      await other?.close();
    }
  });

  it('a malformed or forged feed.status on the bus is dropped and counted; the server keeps serving', async () => {
    await poll('everything live', () => t.app.get(FeedStatusTracker).quietSymbols().size === 0);
    const p = await connect('websocket');
    await subscribe(p, ['AAPL', 'MSFT']);
    const counts = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const s of metricSamples(text, DROPPED)) if (s.labels.topic === 'feed.status') out[s.labels.reason] = s.value;
      return out;
    };
    const before = await counts();
    const pub = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const signer = new BusSigner(TEST_BUS_SECRET);
    const wrong = new BusSigner('not-the-bus-secret-0123456789-abcdefghijklm');
    try {
      const channel = `${prefix}feed.status`;
      const now = Date.now();
      const quiet = (group: Record<string, unknown>) => JSON.stringify({ quiet: [group], at: now, origin: 'elsewhere' });
      const forged = quiet({ symbols: ['AAPL'], reason: 'vendor_unavailable', vendor: 'yahoo', since: now });
      const bodies: [string, string][] = [
        ['null', 'invalid'],
        ['not json {', 'not_json'],
        ['{"quiet":"AAPL","at":1,"origin":"x"}', 'invalid'],
        [quiet({ symbols: ['AAPL'], reason: 'market_closed', vendor: null, since: now }), 'invalid'],
        [quiet({ symbols: ['AAPL'], reason: 'vendor_unavailable', vendor: 'Yahoo<script>', since: now }), 'invalid'],
        [quiet({ symbols: ['<img src=x>'], reason: 'no_quotes', vendor: null, since: now }), 'bad_symbol'],
        [quiet({ symbols: ['AAPL'], reason: 'no_quotes', vendor: null, since: 1e300 }), 'future_timestamp'],
        [quiet({ symbols: ['AAPL', 'AAPL'], reason: 'no_quotes', vendor: null, since: now }), 'invalid'],
      ];
      const want: Record<string, number> = { bad_signature: 2 };
      await pub.publish(channel, forged); // unsigned
      await pub.publish(channel, wrong.seal('feed.status', forged)); // another key
      for (const [body, reason] of bodies) {
        await pub.publish(channel, signer.seal('feed.status', body));
        want[reason] = (want[reason] ?? 0) + 1;
      }
      const delta = async () => {
        const now = await counts();
        return Object.fromEntries(Object.entries(now).flatMap(([k, v]) => (v - (before[k] ?? 0) > 0 ? [[k, v - (before[k] ?? 0)]] : [])));
      };
      await poll(
        'the drops are counted',
        async () => JSON.stringify(Object.entries(await delta()).sort()) === JSON.stringify(Object.entries(want).sort()),
        10_000,
      ).catch(() => undefined);
      expect(await delta()).toEqual(want);

      // Nothing reached the client, the instance's quiet set is untouched, and it keeps serving.
      await barrier(p);
      expect(pendingFeedStatus(p)).toEqual([]);
      expect(t.app.get(VendorStatusWatcher).quietStatusFor(['AAPL', 'MSFT'])).toEqual([]);
      const after = Date.now();
      await p.next('asset_update', (m) => m.data.symbol === 'AAPL' && Date.parse(m.data.as_of) >= after - 1_000);
      expect((await fetch(`${t.url}/health`)).status).toBe(200);

      // A correctly signed one is applied (someone holding BUS_SECRET speaks for the feed), and the feed's own repeat puts it right.
      await pub.publish(channel, signer.seal('feed.status', quiet({ symbols: ['MSFT'], reason: 'no_quotes', vendor: null, since: now })));
      expect((await nextFeedStatus(p)).data).toMatchObject({ symbols: ['MSFT'], state: 'quiet', reason: 'no_quotes' });
      expect((await nextFeedStatus(p)).data).toMatchObject({ symbols: ['MSFT'], state: 'live', reason: 'quotes_resumed' });
    } finally {
      pub.disconnect();
    }
  });
});
