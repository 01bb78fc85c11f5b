import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeClient, RealtimeError, type AssetUpdateData, type PortfolioUpdateData, type StateChange, type WebSocketLike } from '../../client';
import { ConnectionRegistry } from '../../src/realtime/hub/connection-registry';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { CloseCode } from '../../src/realtime/protocol/error-codes';
import { startTestApp, type TestApp } from '../support/app';
import { sql } from '../support/database';
import { observeFor, poll } from '../support/poll';

/**
 * The project's client (client/) against the real server over loopback, on
 * both transports: handshake, ping, subscriptions with snapshots and live
 * updates, unknown symbols, portfolios with a session cookie, and a server
 * restart on the same port (reconnect with backoff, resubscribe, resume).
 */
const ENV = { PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.3' };
const TRANSPORTS = ['websocket', 'socketio'] as const;

function makeClient(
  app: TestApp,
  transport: (typeof TRANSPORTS)[number],
  headers: Record<string, string> = {},
  extra: ConstructorParameters<typeof RealtimeClient>[0] = {},
): RealtimeClient {
  return new RealtimeClient({
    transport,
    baseUrl: app.url,
    headers: { origin: app.url, ...headers },
    // Node 20 has no global WebSocket: the `ws` package, with the same headers a browser would send.
    createWebSocket: (url) => new WebSocket(url, { headers: { origin: app.url, ...headers } }) as unknown as WebSocketLike,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, jitter: 0.5 },
    ...extra,
  });
}

async function login(app: TestApp, username: string, password: string): Promise<string> {
  const res = await fetch(`${app.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('rm.sid='));
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0]!;
}

describe('typed client against the real server', () => {
  let app: TestApp;
  const clients: RealtimeClient[] = [];
  const track = (c: RealtimeClient) => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    app = await startTestApp(ENV);
  });
  afterAll(async () => {
    for (const c of clients) c.dispose();
    await app?.close();
  });

  for (const transport of TRANSPORTS) {
    describe(transport, () => {
      it('connects, pings with a round-trip time, subscribes with a snapshot and live updates in seq order, unsubscribes', async () => {
        const client = track(makeClient(app, transport));
        const states: string[] = [];
        client.onState((s) => states.push(s.state));
        const updates: AssetUpdateData[] = [];
        client.on('asset_update', (u) => updates.push(u));
        client.connect();
        await poll('connected', () => client.state === 'connected');
        expect(states).toEqual(['connecting', 'connected']);
        expect(client.connection).toMatchObject({ status: 'connected', authenticated: false, user_id: null, transport });

        const { rttMs, pong } = await client.ping();
        expect(pong.type).toBe('pong');
        expect(rttMs).toBeGreaterThan(0);

        const ack = await client.subscribeAssets(['aapl', 'BTC-USD']);
        expect(ack).toMatchObject({ type: 'subscribed', data: { subscriptions: { assets: expect.arrayContaining(['AAPL', 'BTC-USD']) } } });
        // Snapshot right after subscribe, then live ticks.
        await poll('a snapshot per symbol', () => ['AAPL', 'BTC-USD'].every((s) => updates.some((u) => u.symbol === s)), 3_000);
        await poll('three AAPL updates', () => updates.filter((u) => u.symbol === 'AAPL').length >= 3);
        const seqs = updates.filter((u) => u.symbol === 'AAPL').map((u) => u.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(seqs.length);

        await expect(client.listSubscriptions()).resolves.toMatchObject({
          type: 'subscriptions',
          data: { subscriptions: { assets: expect.arrayContaining(['AAPL', 'BTC-USD']) } },
        });

        await client.unsubscribeAssets(['AAPL', 'BTC-USD']);
        const count = updates.length;
        await observeFor(900, 'three feed intervals without an update');
        expect(updates.length).toBe(count);
        expect(client.subscriptions.assets).toEqual([]);
      });

      it('resumes after the server drops it: every update once, in seq order, none missed', async () => {
        // A reconnect a second later: the feed (every 0.3 s) commits a few prices meanwhile.
        const client = track(makeClient(app, transport, {}, { reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000, factor: 1, jitter: 0 } }));
        const updates: AssetUpdateData[] = [];
        client.on('asset_update', (u) => updates.push(u));
        const replies: { recovered?: { assets: Record<string, boolean> } }[] = [];
        client.on('subscribed', (d) => replies.push(d));
        client.connect();
        await poll('connected', () => client.state === 'connected');
        await client.subscribeAssets('BTC-USD');
        await poll('two updates', () => updates.length >= 2);
        const id = client.connection!.connection_id;
        const conn = [...app.app.get(ConnectionRegistry).all()].find((c) => c.id === id)!;
        const before = updates.length;
        app.app.get(RealtimeHub).drop(conn, CloseCode.TRY_AGAIN_LATER, 'test: dropped');
        await poll('reconnected and resumed', () => replies.some((r) => r.recovered !== undefined), 10_000);
        expect(replies.find((r) => r.recovered)!.recovered!.assets).toEqual({ 'BTC-USD': true });
        await poll('three updates after the reconnect', () => updates.length >= before + 3, 10_000);
        const seqs = updates.map((u) => u.seq);
        for (let i = 1; i < seqs.length; i++) expect(seqs[i], `update ${i} of ${seqs.join(',')}`).toBe(seqs[i - 1] + 1);
      });

      it('refuses unknown and malformed symbols with typed errors and keeps the known ones', async () => {
        const client = track(makeClient(app, transport));
        client.connect();
        await poll('connected', () => client.state === 'connected');
        const err = await client.subscribeAssets(['MSFT', 'NOSUCHSYM', 'ETH-USD']).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RealtimeError);
        expect(err).toMatchObject({ code: 'UNKNOWN_SYMBOL', data: { symbols: ['NOSUCHSYM'] } });
        expect(client.subscriptions.assets.sort()).toEqual(['ETH-USD', 'MSFT']);
        const listed = await client.listSubscriptions();
        expect((listed.data as { subscriptions: { assets: string[] } }).subscriptions.assets.sort()).toEqual(['ETH-USD', 'MSFT']);
        await expect(client.subscribeAssets('bad symbol!')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        // A portfolio needs a login.
        await expect(client.subscribePortfolio(1)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
        expect(client.subscriptions.portfolios).toEqual([]);
        // Still usable.
        await expect(client.ping()).resolves.toMatchObject({ pong: { type: 'pong' } });
      });

      it('follows the demo portfolio with the session cookie', async () => {
        const cookie = await login(app, 'demo', 'demo-password');
        const [row] = await sql<{ id: number }>(
          app.databaseUrl,
          `SELECT p.id FROM portfolios p JOIN users u ON u.id = p.owner_id WHERE u.username = 'demo' AND p.name = 'Demo Portfolio'`,
        );
        expect(row).toBeDefined();
        const client = track(makeClient(app, transport, { cookie }));
        const values: PortfolioUpdateData[] = [];
        client.on('portfolio_update', (u) => values.push(u));
        client.connect();
        await poll('connected', () => client.state === 'connected');
        expect(client.connection).toMatchObject({ authenticated: true, user_id: expect.any(Number) });
        await client.subscribePortfolio(row!.id);
        await poll('a portfolio snapshot', () => values.length >= 1, 3_000);
        expect(values[0]).toMatchObject({ portfolio_id: row!.id, name: 'Demo Portfolio', total_value: expect.any(Number) });
        await poll('a live portfolio update', () => values.length >= 2);
        // Someone else's / a missing portfolio: NOT_FOUND, and forgotten.
        await expect(client.subscribePortfolio(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(client.subscriptions.portfolios).toEqual([row!.id]);
      });
    });
  }
});

describe('typed client across a server restart', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(ENV);
  });
  afterAll(async () => {
    await app?.close();
  });

  it.each(TRANSPORTS)('%s: reconnects with backoff on the same port, resubscribes and resumes updates', async (transport) => {
    const client = makeClient(app, transport);
    const changes: StateChange[] = [];
    client.onState((s) => changes.push(s));
    const updates: AssetUpdateData[] = [];
    client.on('asset_update', (u) => updates.push(u));
    try {
      client.connect();
      await poll('connected', () => client.state === 'connected');
      await client.subscribeAssets(['AAPL', 'EURUSD']);
      await poll('updates', () => updates.length >= 2);
      const firstConnection = client.connection!.connection_id;

      const { port, databaseUrl } = app;
      await app.stop();
      await poll('reconnecting', () => client.state === 'reconnecting');
      // Let a few attempts fail against the closed port: the delays grow.
      await poll('three failed attempts', () => changes.filter((c) => c.state === 'reconnecting' && c.retryInMs !== undefined).length >= 3, 8_000);
      const delays = changes.filter((c) => c.retryInMs !== undefined).map((c) => c.retryInMs!);
      expect(delays.every((d) => d >= 50 && d <= 1_000)).toBe(true);
      expect(Math.max(...delays)).toBeGreaterThan(Math.min(...delays));

      app = await startTestApp(ENV, { databaseUrl, port });
      await poll('connected again', () => client.state === 'connected', 15_000);
      expect(client.connection!.connection_id).not.toBe(firstConnection);
      const mark = updates.length;
      // Resubscribed by the client itself: fresh snapshots and live updates for both symbols.
      await poll('updates for both symbols after the restart', () => ['AAPL', 'EURUSD'].every((s) => updates.slice(mark).some((u) => u.symbol === s)), 5_000);
      expect(client.subscriptions.assets.sort()).toEqual(['AAPL', 'EURUSD']);
      const last = changes.at(-1)!;
      expect(last).toMatchObject({ state: 'connected', attempt: 0 });
    } finally {
      client.dispose();
    }
  });
});

describe('typed client and the server idle timeout (WS_IDLE_TIMEOUT)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ WS_IDLE_TIMEOUT: '1' });
  });
  afterAll(async () => {
    await app?.close();
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: closed as idle with nothing subscribed, it stays offline (no reconnect loop) until something is subscribed`, async () => {
      const client = makeClient(app, transport);
      const changes: StateChange[] = [];
      client.onState((s) => changes.push(s));
      try {
        client.connect();
        await poll('connected', () => client.state === 'connected');
        const offline = await poll('closed by the server as idle', () => changes.find((c) => c.state === 'offline'), 5_000);
        expect(offline.reason).toMatch(/^IDLE_TIMEOUT: /);
        // Bounded observation window, longer than several reconnect delays and idle timeouts: no new attempt.
        await new Promise((r) => setTimeout(r, 2_500));
        expect(changes.map((c) => c.state)).toEqual(['connecting', 'connected', 'offline']);
        expect(client.state).toBe('offline');
        // Subscribing wakes it up: it connects, subscribes, and is not idle any more.
        const updates: AssetUpdateData[] = [];
        client.on('asset_update', (u) => updates.push(u));
        await client.subscribeAssets('AAPL');
        await poll('connected again', () => client.state === 'connected');
        await poll('the AAPL snapshot', () => updates.some((u) => u.symbol === 'AAPL'), 5_000);
        await new Promise((r) => setTimeout(r, 2_000));
        expect(client.state).toBe('connected');
        await expect(client.ping()).resolves.toMatchObject({ pong: { type: 'pong' } });
      } finally {
        client.dispose();
      }
    });
  }
});
