import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';
import { MessageBus } from '../../src/bus/message-bus';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TEST_BUS_SECRET, TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { metricSamples } from '../support/output-capture';
import { observeFor, poll } from '../support/poll';
import { createPortfolio, loginAs, publishTicks, tick } from '../support/realtime-fixtures';
import { IoProbe, Probe, WsProbe } from '../support/realtime-probes';
import { SseProbe } from '../support/sse-probe';
import { FeedProcess, requireBuild } from '../unit/price-feed/support/feed-process';

const REDIS_URL = inject('redisUrl');
const DASHBOARD = join(__dirname, '..', '..', 'docker', 'grafana', 'realtime-markets.json');

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers, signal: AbortSignal.timeout(5_000) });
  expect(res.status, await res.clone().text()).toBe(200);
  return res.text();
}

/** Sum of the samples of `name` whose labels include `labels` (0 when there are none). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  return metricSamples(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

/** Metric families (`# TYPE name type`) of an exposition. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/** The family a series name of a PromQL expression belongs to (histogram series end in _bucket, _sum, _count). */
function familyOf(name: string, known: Map<string, string>): string {
  if (known.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return known.get(base) === 'histogram' ? base : name;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Every metric name used in a PromQL expression: identifiers not followed by `(`, outside label matchers, ranges, groupings and strings. */
export function metricNamesOf(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1].toLowerCase())) continue;
    names.add(m[1]);
  }
  return [...names];
}

function dashboardExprs(): string[] {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr?: string }[] }[] };
  return dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).filter(Boolean);
}

describe('metrics: the dashboard expressions parse as expected', () => {
  it('finds metric names and skips functions, labels, ranges and groupings', () => {
    expect(metricNamesOf('histogram_quantile(0.99, sum by (le) (rate(realtime_fanout_latency_seconds_bucket[$__rate_interval])))')).toEqual([
      'realtime_fanout_latency_seconds_bucket',
    ]);
    expect(metricNamesOf('sum by (outcome) (rate(realtime_inbound_messages_total{outcome!="ok", type=~"a|b"}[5m])) / on (x) foo_total')).toEqual([
      'realtime_inbound_messages_total',
      'foo_total',
    ]);
    const names = new Set(dashboardExprs().flatMap(metricNamesOf));
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const n of [
      'realtime_connections',
      'realtime_deliveries_total',
      'realtime_fanout_latency_seconds_bucket',
      'price_feed_batch_duration_seconds_bucket',
    ]) {
      expect(names).toContain(n);
    }
  });
});

describe('metrics: realtime service', () => {
  let t: TestApp;
  const probes: Probe[] = [];
  const open = async <P extends Probe>(p: Promise<P>): Promise<P> => {
    const probe = await p;
    probes.push(probe);
    await probe.next('connection');
    return probe;
  };

  beforeAll(async () => {
    t = await startTestApp({
      REDIS_URL,
      REDIS_PREFIX: `rmtest:${randomBytes(6).toString('hex')}:`,
      MAX_CONNECTIONS_PER_USER: '2',
      WS_MAX_PROTOCOL_ERRORS: '5',
      WS_BUFFER_HIGH_WATER: '4096',
      WS_BUFFER_HARD_LIMIT: String(64 * 1024),
      WS_STALL_TIMEOUT: '1',
      // An HTTP vendor in a chain, so its breaker state is exposed (the feed is off: it is never called).
      PRICE_PROVIDERS: 'stocks=yahoo,simulated;*=simulated',
      YAHOO_BASE_URL: 'http://127.0.0.1:9/yahoo',
    });
    await t.app.get(MessageBus).ready();
  });
  afterAll(async () => {
    for (const p of probes) await p.close().catch(() => undefined);
    await t?.close();
  });

  it('counts open connections by transport and login, and the accepted handshakes', async () => {
    const before = await scrape(t.url);
    for (const transport of ['websocket', 'socketio', 'sse']) {
      for (const authenticated of ['true', 'false']) expect(value(before, 'realtime_connections', { transport, authenticated })).toBe(0);
    }
    const alice = await loginAs(t, 'metrics-alice');
    const anonWs = await open(WsProbe.open(t.wsUrl));
    const anonIo = await open(IoProbe.open(t.url));
    const authWs = await open(WsProbe.open(t.wsUrl, { cookie: alice.cookie, origin: t.url }));
    const authIo = await open(IoProbe.open(t.url, { cookie: alice.cookie, origin: t.url }));
    const anonSse = await SseProbe.open(`${t.url}/realtime/sse`);
    await anonSse.next('connection');
    const after = await scrape(t.url);
    expect(value(after, 'realtime_connections', { transport: 'websocket', authenticated: 'false' })).toBe(1);
    expect(value(after, 'realtime_connections', { transport: 'websocket', authenticated: 'true' })).toBe(1);
    expect(value(after, 'realtime_connections', { transport: 'socketio', authenticated: 'false' })).toBe(1);
    expect(value(after, 'realtime_connections', { transport: 'socketio', authenticated: 'true' })).toBe(1);
    expect(value(after, 'realtime_connections', { transport: 'sse', authenticated: 'false' })).toBe(1);
    const sseAccepted = { transport: 'sse', result: 'accepted' };
    expect(value(after, 'realtime_handshakes_total', sseAccepted) - value(before, 'realtime_handshakes_total', sseAccepted)).toBe(1);
    for (const transport of ['websocket', 'socketio']) {
      const accepted = { transport, result: 'accepted' };
      expect(value(after, 'realtime_handshakes_total', accepted) - value(before, 'realtime_handshakes_total', accepted)).toBe(2);
    }

    for (const p of [anonWs, anonIo, authWs, authIo, anonSse]) await p.close();
    const closed = await poll('the connections gauge back to 0', async () => {
      const text = await scrape(t.url);
      return value(text, 'realtime_connections') === 0 && text;
    });
    expect(metricSamples(closed, 'realtime_connections')).toHaveLength(6);
  });

  it('counts subscriptions by kind, and answered messages by type and outcome', async () => {
    const bob = await loginAs(t, 'metrics-bob');
    const portfolioId = await createPortfolio(t, bob.cookie, 'Watched');
    const before = await scrape(t.url);
    expect(value(before, 'realtime_subscriptions', { kind: 'asset' })).toBe(0);
    expect(value(before, 'realtime_subscriptions', { kind: 'portfolio' })).toBe(0);

    const ws = await open(WsProbe.open(t.wsUrl, { cookie: bob.cookie, origin: t.url }));
    const io = await open(IoProbe.open(t.url));
    ws.send('subscribe_asset', { symbols: ['AAPL', 'MSFT'] }, 1);
    await ws.next('subscribed', (m) => m.id === 1);
    ws.send('subscribe_portfolio', { portfolio_id: portfolioId }, 2);
    await ws.next('subscribed', (m) => m.id === 2);
    expect((await io.request('subscribe_asset', { symbol: 'AAPL' })).ok).toBe(true);
    ws.send('ping', {}, 3);
    await ws.next('pong', (m) => m.id === 3);

    const after = await scrape(t.url);
    expect(value(after, 'realtime_subscriptions', { kind: 'asset' })).toBe(3);
    expect(value(after, 'realtime_subscriptions', { kind: 'portfolio' })).toBe(1);
    const delta = (labels: Record<string, string>) =>
      value(after, 'realtime_inbound_messages_total', labels) - value(before, 'realtime_inbound_messages_total', labels);
    expect(delta({ type: 'subscribe_asset', outcome: 'ok' })).toBe(2);
    expect(delta({ type: 'subscribe_portfolio', outcome: 'ok' })).toBe(1);
    expect(delta({ type: 'ping', outcome: 'ok' })).toBe(1);
    await ws.close();
    await io.close();
  });

  it('counts error replies by code, with unknown message types under "unknown"', async () => {
    const before = await scrape(t.url);
    const ws = await open(WsProbe.open(t.wsUrl));
    const io = await open(IoProbe.open(t.url));
    ws.sendRaw('{not json');
    expect((await ws.next('error')).data.code).toBe('INVALID_JSON');
    ws.send('subscribe_asset', { symbol: 42 }, 'v');
    expect((await ws.next('error', (m) => m.id === 'v')).data.code).toBe('VALIDATION_FAILED');
    ws.send('no_such_type_' + randomBytes(4).toString('hex'), {}, 'u');
    expect((await ws.next('error', (m) => m.id === 'u')).data.code).toBe('UNKNOWN_TYPE');
    const ack = await io.request('subscribe_portfolio', { portfolio_id: 1 });
    expect(ack.error.code).toBe('AUTH_REQUIRED');

    const after = await scrape(t.url);
    const delta = (labels: Record<string, string>) =>
      value(after, 'realtime_inbound_messages_total', labels) - value(before, 'realtime_inbound_messages_total', labels);
    expect(delta({ type: 'unknown', outcome: 'INVALID_JSON' })).toBe(1);
    expect(delta({ type: 'subscribe_asset', outcome: 'VALIDATION_FAILED' })).toBe(1);
    expect(delta({ type: 'unknown', outcome: 'UNKNOWN_TYPE' })).toBe(1);
    expect(delta({ type: 'subscribe_portfolio', outcome: 'AUTH_REQUIRED' })).toBe(1);
    expect(delta({})).toBe(4);
    // Only client message types and "unknown" ever appear as `type`.
    const types = new Set(metricSamples(after, 'realtime_inbound_messages_total').map((s) => s.labels.type));
    for (const type of types)
      expect([
        'unknown',
        'ping',
        'subscribe_asset',
        'unsubscribe_asset',
        'subscribe_portfolio',
        'unsubscribe_portfolio',
        'list_subscriptions',
        'set_options',
      ]).toContain(type);
    await ws.close();
    await io.close();
  });

  it('closes after WS_MAX_PROTOCOL_ERRORS and for an oversize frame, counting each limit', async () => {
    const before = await scrape(t.url);
    const ws = await open(WsProbe.open(t.wsUrl));
    for (let i = 0; i < 5; i++) ws.sendRaw('nope');
    expect((await ws.closed).code).toBe(1008);
    const big = await open(WsProbe.open(t.wsUrl));
    big.sendRaw('x'.repeat(70_000));
    expect((await big.closed).code).toBe(1009);
    const after = await poll('the payload refusal is counted', async () => {
      const text = await scrape(t.url);
      return (
        value(text, 'realtime_limit_refusals_total', { limit: 'payload_size' }) > value(before, 'realtime_limit_refusals_total', { limit: 'payload_size' }) &&
        text
      );
    });
    const delta = (limit: string) => value(after, 'realtime_limit_refusals_total', { limit }) - value(before, 'realtime_limit_refusals_total', { limit });
    expect(delta('protocol_errors')).toBe(1);
    expect(delta('payload_size')).toBe(1);
    expect(
      value(after, 'realtime_inbound_messages_total', { outcome: 'INVALID_JSON' }) -
        value(before, 'realtime_inbound_messages_total', { outcome: 'INVALID_JSON' }),
    ).toBe(5);
  });

  it('counts frames, deliveries and the fan-out latency of a price batch (once per frame, not per delivery)', async () => {
    const ws = await open(WsProbe.open(t.wsUrl));
    const io = await open(IoProbe.open(t.url));
    for (const p of [ws, io]) {
      p.send('subscribe_asset', { symbols: ['NVDA', 'AMZN'] });
      await p.next('subscribed');
      await poll('snapshots', () => p.inbox.received.filter((m) => m.type === 'asset_update').length === 2);
    }
    const before = await scrape(t.url);
    // Two subscribed symbols (two subscribers each) and one nobody follows.
    await publishTicks(t, [tick('NVDA', '901.5'), tick('AMZN', '201.25'), tick('TSLA', '250')]);
    for (const p of [ws, io]) {
      await p.next('asset_update', (m) => m.data.symbol === 'NVDA' && m.data.price === 901.5);
      await p.next('asset_update', (m) => m.data.symbol === 'AMZN' && m.data.price === 201.25);
    }
    const after = await scrape(t.url);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('realtime_frames_total', { type: 'asset_update' })).toBe(2);
    expect(delta('realtime_deliveries_total', { type: 'asset_update' })).toBe(4);
    expect(delta('realtime_price_ticks_total', { outcome: 'used' })).toBe(3);
    expect(delta('realtime_fanout_latency_seconds_count')).toBe(2);
    const sum = delta('realtime_fanout_latency_seconds_sum');
    expect(sum).toBeGreaterThanOrEqual(0);
    expect(sum).toBeLessThan(10);
    expect(value(after, 'realtime_fanout_latency_seconds_bucket', { le: '+Inf' })).toBe(value(after, 'realtime_fanout_latency_seconds_count'));
    await ws.close();
    await io.close();
  });

  it('counts refused handshakes: foreign origin, bad batch parameter, the per-user connection limit (both transports)', async () => {
    const before = await scrape(t.url);
    await expect(WsProbe.open(t.wsUrl, { origin: 'http://evil.example' })).rejects.toMatchObject({ statusCode: 403 });
    await expect(IoProbe.open(t.url, { origin: 'http://evil.example' })).rejects.toThrow();
    await expect(IoProbe.open(t.url, { origin: 'http://evil.example', transports: ['polling'] })).rejects.toThrow();
    await expect(WsProbe.open(t.wsUrl, { query: 'batch=5' })).rejects.toMatchObject({ statusCode: 400 });

    const carol = await loginAs(t, 'metrics-carol');
    const opts = { cookie: carol.cookie, origin: t.url };
    await open(WsProbe.open(t.wsUrl, opts));
    await open(IoProbe.open(t.url, opts));
    const third = await WsProbe.open(t.wsUrl, opts);
    probes.push(third);
    expect(await third.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/^CONNECTION_LIMIT/) });
    const err = await IoProbe.open(t.url, opts).then(
      () => null,
      (e: Error & { data?: { code?: string } }) => e,
    );
    expect(err?.data?.code).toBe('CONNECTION_LIMIT');

    const after = await scrape(t.url);
    const delta = (labels: Record<string, string>) => value(after, 'realtime_handshakes_total', labels) - value(before, 'realtime_handshakes_total', labels);
    expect(delta({ transport: 'websocket', result: 'origin_refused' })).toBe(1);
    expect(delta({ transport: 'socketio', result: 'origin_refused' })).toBe(2);
    expect(delta({ transport: 'websocket', result: 'bad_request' })).toBe(1);
    expect(delta({ transport: 'websocket', result: 'limit' })).toBe(1);
    expect(delta({ transport: 'socketio', result: 'limit' })).toBe(1);
    expect(delta({ transport: 'websocket', result: 'accepted' })).toBe(1);
    expect(delta({ transport: 'socketio', result: 'accepted' })).toBe(1);
    const limit = { limit: 'connections_per_user' };
    expect(value(after, 'realtime_limit_refusals_total', limit) - value(before, 'realtime_limit_refusals_total', limit)).toBe(2);
    for (const p of probes.splice(0)) await p.close();
  });

  it('counts a conflated reader and its slow-consumer close (1013)', async () => {
    const hub = t.app.get(RealtimeHub);
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN', 'GOOGL', 'META', 'TSLA', 'JPM', 'V', 'WMT'];
    const stuck = await open(WsProbe.open(t.wsUrl));
    stuck.send('subscribe_asset', { symbols });
    await stuck.next('subscribed');
    await poll('snapshots', () => stuck.inbox.received.filter((m) => m.type === 'asset_update').length === symbols.length);
    const before = await scrape(t.url);
    const closesBefore = hub.stats().outbound.slow_consumer_closes;
    stuck.pause();
    let i = 0;
    while (hub.stats().outbound.slow_consumer_closes === closesBefore && i < 5000) {
      i++;
      await publishTicks(
        t,
        symbols.map((s) => tick(s, (50 + i / 100).toFixed(2))),
      );
      if (i % 20 === 0) await observeFor(20, "the stuck reader's buffer grows");
    }
    stuck.resume();
    expect((await stuck.closed).code).toBe(1013);
    const after = await scrape(t.url);
    const delta = (name: string) => value(after, name) - value(before, name);
    expect(delta('realtime_slow_consumer_closes_total')).toBe(1);
    expect(delta('realtime_conflations_total')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'realtime_conflated_connections')).toBe(0);
  }, 60_000);

  it('reports PostgreSQL, Redis and the vendor breakers', async () => {
    const text = await scrape(t.url);
    expect(value(text, 'realtime_dependency_up', { dependency: 'postgres' })).toBe(1);
    expect(value(text, 'realtime_dependency_up', { dependency: 'redis' })).toBe(1);
    expect(metricSamples(text, 'price_feed_vendor_circuit_state')).toEqual([{ labels: { vendor: 'yahoo' }, value: 0 }]);
    expect(families(text).get('realtime_bus_messages_dropped_total')).toBe('counter');
  });

  it('exposes every metric the Grafana dashboard queries, with samples for the realtime ones', async () => {
    const text = await scrape(t.url);
    const known = families(text);
    const names = new Set(dashboardExprs().flatMap(metricNamesOf));
    const missing = [...names].filter((n) => !known.has(familyOf(n, known)));
    expect(missing).toEqual([]);
    // After the traffic above, every realtime series the dashboard reads has samples (bus drops need a forged message).
    for (const n of names) {
      if (!n.startsWith('realtime_') || n === 'realtime_bus_messages_dropped_total') continue;
      expect(metricSamples(text, n).length, n).toBeGreaterThan(0);
    }
  });
});

describe('metrics: METRICS_TOKEN', () => {
  const TOKEN = 'metrics-token-0123456789abcdef';
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ METRICS_TOKEN: TOKEN, WS_IDLE_TIMEOUT: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 401 without the token or with a wrong one, 200 with it', async () => {
    const none = await fetch(`${t.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await none.json()).toMatchObject({ statusCode: 401 });
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer ']) {
      expect((await fetch(`${t.url}/metrics`, { headers: { authorization } })).status, authorization).toBe(401);
    }
    const text = await scrape(t.url, { authorization: `Bearer ${TOKEN}` });
    expect(text).toMatch(/^# TYPE realtime_connections gauge$/m);
    expect(value(text, 'realtime_dependency_up', { dependency: 'postgres' })).toBe(1);
    // No REDIS_URL: no Redis sample at all (not a 0 that would read as "down").
    expect(metricSamples(text, 'realtime_dependency_up').map((s) => s.labels.dependency)).toEqual(['postgres']);
  });

  it('counts a connection closed for WS_IDLE_TIMEOUT', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const before = await scrape(t.url, auth);
    const idle = await WsProbe.open(t.wsUrl);
    expect(await idle.closed).toMatchObject({ code: 1008, reason: expect.stringMatching(/^IDLE_TIMEOUT/) });
    const after = await scrape(t.url, auth);
    const limit = { limit: 'idle_timeout' };
    expect(value(after, 'realtime_limit_refusals_total', limit) - value(before, 'realtime_limit_refusals_total', limit)).toBe(1);
  });
});

describe('metrics: the price-feed process listener (FEED_METRICS_PORT)', { timeout: 60_000 }, () => {
  const TOKEN = 'feed-metrics-token-0123456789';
  let db: { url: string; drop: () => Promise<void> };
  let feed: FeedProcess | undefined;
  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('rmmetrics');
  });
  afterAll(async () => {
    feed?.kill('SIGKILL');
    await feed?.exited;
    await db?.drop();
  });

  it('serves the feed metrics on its own port, behind METRICS_TOKEN', async () => {
    const port = await freePort();
    feed = new FeedProcess(
      {
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX: `rmtest:${randomBytes(6).toString('hex')}:`,
        BUS_SECRET: TEST_BUS_SECRET,
        PRICE_BACKFILL_DAYS: '0',
        LOG_LEVEL: 'log',
        HOST: '127.0.0.1',
        FEED_METRICS_PORT: String(port),
        METRICS_TOKEN: TOKEN,
      },
      ['--interval', '0.2'],
    );
    await feed.waitFor(/Serving Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics \(bearer token required\)/);
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    expect((await fetch(`${url}/other`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
    const text = await poll('a committed batch in the feed metrics', async () => {
      const body = await scrape(url, { authorization: `Bearer ${TOKEN}` });
      // The batch counter and the duration histogram are updated at two points of one run: wait for both.
      return value(body, 'price_feed_batches_total', { outcome: 'committed' }) > 0 && value(body, 'price_feed_batch_duration_seconds_count') > 0 && body;
    });
    expect(value(text, 'price_feed_batch_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(text, 'realtime_dependency_up', { dependency: 'postgres' })).toBe(1);
    expect(value(text, 'realtime_dependency_up', { dependency: 'redis' })).toBe(1);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    // The dashboard's feed panels read metrics this process exposes.
    const known = families(text);
    const feedNames = new Set(
      dashboardExprs()
        .flatMap(metricNamesOf)
        .filter((n) => n.startsWith('price_feed_')),
    );
    expect(feedNames.size).toBeGreaterThanOrEqual(4);
    expect([...feedNames].filter((n) => !known.has(familyOf(n, known)))).toEqual([]);
    feed.kill('SIGTERM');
    expect((await feed.exited).code).toBe(0);
  });
});
