import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_MESSAGE_TYPES } from '../../src/realtime/protocol/client-messages';
import { ERROR_CODES } from '../../src/realtime/protocol/error-codes';
import { SERVER_MESSAGE_TYPES } from '../../src/realtime/protocol/server-messages';
import { startTestApp, TestApp } from '../support/app';
import { IoProbe, WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

describe('realtime REST (the guide shapes)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['/realtime/websocket-info/', '/realtime/websocket-info'])('GET %s describes both transports and every message type', async (path) => {
    const res = await fetch(`${t.url}${path}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const host = `127.0.0.1:${t.port}`;
    expect(body.websocket_url).toBe(`ws://${host}/ws/realtime/`);
    expect(body.connection_info).toMatchObject({
      protocol: 'ws',
      host,
      path: '/ws/realtime/',
      authentication: 'session-based',
      socketio: { namespace: '/realtime', path: '/socket.io', url: `http://${host}/realtime` },
      heartbeat_interval: 25,
    });
    for (const type of [...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES]) {
      expect(typeof body.message_types[type], type).toBe('string');
      expect(body.message_types[type].length).toBeGreaterThan(5);
    }
    expect(body.message_types.ping).toBe('Health check message; the server answers pong');
    expect(body.error_codes).toEqual([...ERROR_CODES]);
  });

  it('builds wss:// URLs from the forwarded host and protocol behind a trusted TLS proxy', async () => {
    const res = await fetch(`${t.url}/realtime/websocket-info/`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'markets.example.com' } });
    const body = (await res.json()) as any;
    expect(body.websocket_url).toBe('wss://markets.example.com/ws/realtime/');
    expect(body.connection_info).toMatchObject({ protocol: 'wss', host: 'markets.example.com' });
    expect(body.connection_info.socketio.url).toBe('https://markets.example.com/realtime');
  });

  it.each(['/realtime/status/', '/realtime/status'])('GET %s counts connections and subscriptions', async (path) => {
    const a = await WsProbe.open(t.wsUrl);
    const b = await IoProbe.open(t.url);
    await a.next('connection');
    await b.next('connection');
    a.send('subscribe_asset', { symbols: ['AAPL', 'MSFT'] });
    await a.next('subscribed');
    b.send('subscribe_asset', { symbol: 'AAPL' });
    await b.next('subscribed');
    const body = (await (await fetch(`${t.url}${path}`)).json()) as any;
    expect(body.service_status).toBe('running');
    expect(body.global_stats).toMatchObject({
      total_connections: 2,
      authenticated_users: 0,
      portfolio_subscriptions: 0,
      asset_subscriptions: 3,
      distinct_assets: 2,
      connections_by_transport: { websocket: 1, socketio: 1 },
      // Without REDIS_URL this instance is the whole service.
      scope: 'instance',
      instances: [{ id: expect.any(String), connections: 2, connections_by_transport: { websocket: 1, socketio: 1 }, self: true }],
    });
    expect(body.global_stats.instances).toHaveLength(1);
    expect(body.user_stats).toBeUndefined();
    // Tests run with PRICE_FEED_MODE=off: the status says no feed runs here, and why.
    expect(body.price_feed_running).toBe(false);
    expect(body.price_feed).toMatchObject({ mode: 'off', price_feed_running: false, role: expect.any(String) });
    expect(body.price_feed.cache).toMatchObject({ cached_symbols: expect.any(Number), stale_symbols: expect.any(Array) });
    await a.close();
    await b.close();
    await poll('closed connections are uncounted', async () => ((await (await fetch(`${t.url}${path}`)).json()) as any).global_stats.total_connections === 0);
  });
});
