import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetCatalogService } from '../../src/assets/asset-catalog.service';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { Envelope, IoProbe, openProbe, Probe, WsProbe } from '../support/realtime-probes';
import { observeFor, poll } from '../support/poll';
import { LatestPriceSource } from '../../src/price-feed/latest-price.source';

/**
 * The guide's protocol on both transports, same scenarios: connect, ping/pong,
 * subscribe + snapshot, live updates in order, unsubscribe, errors.
 */
describe('realtime protocol', () => {
  let t: TestApp;
  const open: Probe[] = [];
  const connect = async (kind: 'websocket' | 'socketio') => {
    const p = await openProbe(kind, t);
    open.push(p);
    return p;
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await Promise.all(open.map((p) => p.close()));
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    // Each transport gets its own symbols so the scenarios cannot see each other's ticks.
    const [S1, S2, S3] = kind === 'websocket' ? ['AAPL', 'MSFT', 'GOOGL'] : ['AMZN', 'META', 'NVDA'];

    it('sends `connection` first, with the guide fields, heartbeat and limits', async () => {
      const p = await connect(kind);
      const m = await p.next('connection');
      expect(m.data).toMatchObject({
        status: 'connected',
        authenticated: false,
        user_id: null,
        transport: kind,
        heartbeat_interval: 25,
        limits: { max_subscriptions_per_connection: 50, max_connections_per_user: 5, max_payload_bytes: 65536 },
      });
      expect(m.data.connection_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(m.timestamp)).not.toBeNaN();
      expect(p.inbox.received[0].type).toBe('connection');
    });

    it('answers ping with pong and echoes the request id (number and string)', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('ping', {}, 41);
      const a = await p.next('pong');
      expect(a.id).toBe(41);
      expect(Date.parse(a.data.server_time)).not.toBeNaN();
      p.send('ping', {}, 'req-7');
      expect((await p.next('pong')).id).toBe('req-7');
      p.send('ping');
      const b = await p.next('pong');
      expect(b.id).toBeUndefined();
    });

    it('subscribes, sends a snapshot right after `subscribed`, then live updates in order with increasing seq', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_asset', { symbol: S1 }, 1);
      const sub = await p.next('subscribed');
      expect(sub.id).toBe(1);
      expect(sub.data).toEqual({ assets: [S1], portfolios: [], subscriptions: { assets: [S1], portfolios: [] } });
      const snap = await p.next('asset_update');
      // The snapshot is the very next message after `subscribed`.
      const types = p.inbox.received.map((m) => m.type);
      expect(types.indexOf('asset_update')).toBe(types.indexOf('subscribed') + 1);
      expect(snap.data.symbol).toBe(S1);
      for (const f of ['price', 'change', 'change_percent'] as const) expect(typeof snap.data[f]).toBe('number');
      expect(snap.data.price).toBeGreaterThan(0);

      const prices = ['101.10', '101.25', '100.95', '102.00', '102.50'];
      for (const price of prices) await publishTicks(t, [tick(S1, price, { previous_close: '100.00', volume: '12345', high: '103', low: '99.5' })]);
      const got: Envelope[] = [];
      for (let i = 0; i < prices.length; i++) got.push(await p.next('asset_update'));
      expect(got.map((m) => m.data.price)).toEqual(prices.map(Number));
      const seqs = [snap.data.seq, ...got.map((m) => m.data.seq)];
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
      expect(got[0].data).toMatchObject({
        symbol: S1,
        change: 1.1,
        change_percent: 1.1,
        volume: 12345,
        high: 103,
        low: 99.5,
        previous_close: 100,
        source: 'test',
      });
      expect(typeof got[0].data.published_at).toBe('number');
      expect(got[4].data).toMatchObject({ change: 2.5, change_percent: 2.5 });
    });

    it('a late subscriber gets the latest tick seen on the bus as its snapshot', async () => {
      await publishTicks(t, [tick(S3, '77.70')]);
      await poll('the tick in the latest-price cache', async () => (await t.app.get(LatestPriceSource).get(S3))?.price === '77.70');
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_asset', { symbol: S3.toLowerCase() });
      await p.next('subscribed');
      const snap = await p.next('asset_update');
      expect(snap.data).toMatchObject({ symbol: S3, price: 77.7 });
      expect(snap.data.seq).toBeGreaterThanOrEqual(1);
    });

    it('subscribes several symbols at once (normalised), lists and unsubscribes; unsubscribed symbols stop', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_asset', { symbols: [` ${S2.toLowerCase()} `, S1] });
      const sub = await p.next('subscribed');
      expect(sub.data.assets.sort()).toEqual([S1, S2].sort());
      await p.next('asset_update');
      await p.next('asset_update');
      p.send('list_subscriptions', {});
      expect((await p.next('subscriptions')).data.subscriptions).toEqual({ assets: [S1, S2].sort(), portfolios: [] });

      p.send('unsubscribe_asset', { symbol: S1 }, 'u1');
      const uns = await p.next('unsubscribed');
      expect(uns.id).toBe('u1');
      expect(uns.data).toEqual({ assets: [S1], portfolios: [], subscriptions: { assets: [S2], portfolios: [] } });
      // One batch with both symbols: only the still-subscribed one arrives.
      await publishTicks(t, [tick(S1, '150.00'), tick(S2, '250.00')]);
      const upd = await p.next('asset_update');
      expect(upd.data).toMatchObject({ symbol: S2, price: 250 });
      p.send('ping', {}, 'after');
      await p.next('pong');
      expect(p.inbox.drain('asset_update')).toEqual([]);
      // Unsubscribing something not held is not an error: nothing changes.
      p.send('unsubscribe_asset', { symbols: ['ZZZZ'] });
      expect((await p.next('unsubscribed')).data.assets).toEqual([]);
    });

    it('UNKNOWN_SYMBOL for a well-formed symbol not in the catalog; nothing is added', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_asset', { symbols: [S1, 'NOSUCH1'] }, 9);
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'UNKNOWN_SYMBOL', request_type: 'subscribe_asset', id: 9, symbols: ['NOSUCH1'] });
      expect(e.data.message).toContain('NOSUCH1');
      p.send('list_subscriptions');
      expect((await p.next('subscriptions')).data.subscriptions.assets).toEqual([]);
    });

    it('VALIDATION_FAILED for wrong field types, missing or conflicting fields; the connection stays usable', async () => {
      const p = await connect(kind);
      await p.next('connection');
      const bad: [string, unknown][] = [
        ['subscribe_asset', { symbol: 5 }],
        ['subscribe_asset', {}],
        ['subscribe_asset', { symbol: 'AAPL', symbols: ['MSFT'] }],
        ['subscribe_asset', { symbol: 'AA PL' }],
        ['subscribe_asset', { symbols: [] }],
        ['subscribe_asset', { symbol: 'AAPL', extra: true }],
        ['subscribe_portfolio', { portfolio_id: -3 }],
        ['subscribe_portfolio', { portfolio_id: 'abc' }],
        ['unsubscribe_portfolio', {}],
        ['set_options', { batch_ms: 3 }],
      ];
      for (const [type, data] of bad) {
        p.send(type, data, `v-${type}`);
        const e = await p.next('error');
        expect(e.data.code, JSON.stringify(data)).toBe('VALIDATION_FAILED');
        expect(e.data.request_type).toBe(type);
        expect(e.data.id).toBe(`v-${type}`);
        expect(Array.isArray(e.data.details)).toBe(true);
      }
      p.send('ping', {}, 'still-alive');
      expect((await p.next('pong')).id).toBe('still-alive');
    });

    it('a portfolio id that is not one gets one clear message per field, not contradictory ones', async () => {
      const p = await connect(kind);
      await p.next('connection');
      for (const portfolio_id of ['abc', 0, 2_147_483_648, 1.5, '12345678901']) {
        p.send('subscribe_portfolio', { portfolio_id }, 'pid');
        const e = await p.next('error');
        expect(e.data.code, String(portfolio_id)).toBe('VALIDATION_FAILED');
        expect(e.data.details, String(portfolio_id)).toEqual(['data.portfolio_id: portfolio_id must be an integer from 1 to 2147483647']);
        expect(e.data.message).toBe('data.portfolio_id: portfolio_id must be an integer from 1 to 2147483647');
      }
      p.send('set_options', { batch_ms: 'fast' });
      expect((await p.next('error')).data.details).toHaveLength(1);
    });

    it('UNKNOWN_TYPE for a type the server does not know', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_everything', { symbol: 'AAPL' }, 'x');
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'UNKNOWN_TYPE', request_type: 'subscribe_everything', id: 'x' });
    });

    it('AUTH_REQUIRED for portfolio subscriptions on an anonymous connection', async () => {
      const p = await connect(kind);
      await p.next('connection');
      p.send('subscribe_portfolio', { portfolio_id: 1 }, 'p');
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'AUTH_REQUIRED', request_type: 'subscribe_portfolio', id: 'p' });
      expect(p.inbox.drain('portfolio_update')).toEqual([]);
    });

    it('SUBSCRIPTION_LIMIT: the 51st subscription is refused and the first 50 stay (and keep updating)', async () => {
      const all = (await t.app.get(AssetCatalogService).allSymbols()).sort();
      expect(all.length).toBeGreaterThanOrEqual(51);
      const p = await connect(kind);
      await p.next('connection');
      const fifty = all.slice(0, 50);
      p.send('subscribe_asset', { symbols: fifty });
      expect((await p.next('subscribed')).data.subscriptions.assets).toHaveLength(50);
      p.send('subscribe_asset', { symbol: all[50] }, 'one-more');
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', id: 'one-more' });
      p.send('list_subscriptions');
      const list = (await p.next('subscriptions')).data.subscriptions.assets;
      expect(list).toEqual(fifty);
      // An array that would cross the limit adds nothing either.
      p.send('unsubscribe_asset', { symbol: fifty[0] });
      await p.next('unsubscribed');
      p.send('subscribe_asset', { symbols: [all[50], all[51]] });
      expect((await p.next('error')).data.code).toBe('SUBSCRIPTION_LIMIT');
      p.send('subscribe_asset', { symbol: all[50] });
      expect((await p.next('subscribed')).data.subscriptions.assets).toHaveLength(50);
      await publishTicks(t, [tick(fifty[49], '42.42')]);
      expect((await p.next('asset_update', (m) => m.data.symbol === fifty[49] && m.data.price === 42.42)).data.symbol).toBe(fifty[49]);
    });

    it('RATE_LIMITED above the inbound rate, with retry_after; the connection stays open and recovers', async () => {
      const p = await connect(kind);
      await p.next('connection');
      // 20/s sustained + 40 burst: 80 at once must see some refusals, but not enough to be called abuse.
      for (let i = 0; i < 80; i++) p.send('ping', {}, i);
      const limited = await p.next('error', (m) => m.data.code === 'RATE_LIMITED');
      expect(limited.data.retry_after).toBeGreaterThan(0);
      expect(limited.data.retry_after).toBeLessThanOrEqual(10);
      await observeFor(1_200, 'the rate limiter refills');
      p.send('ping', {}, 'recovered');
      expect((await p.next('pong', (m) => m.id === 'recovered', 3000)).id).toBe('recovered');
      const pongs = p.inbox.received.filter((m) => m.type === 'pong' && typeof m.id === 'number').length;
      const refused = p.inbox.received.filter((m) => m.type === 'error' && m.data.code === 'RATE_LIMITED').length;
      expect(pongs + refused).toBe(80);
      expect(pongs).toBeGreaterThanOrEqual(60);
      expect(refused).toBeGreaterThanOrEqual(1);
    });
  });

  describe('raw WebSocket specifics', () => {
    it('accepts the path without the trailing slash and with a query string', async () => {
      for (const path of ['/ws/realtime', '/ws/realtime?x=1', '/ws/realtime/?client=test']) {
        const p = await WsProbe.open(t.wsUrl, { path });
        open.push(p);
        expect((await p.next('connection')).data.status).toBe('connected');
      }
    });

    it('INVALID_JSON for malformed text and for binary frames; the connection stays usable', async () => {
      const p = await WsProbe.open(t.wsUrl);
      open.push(p);
      await p.next('connection');
      p.sendRaw('{"type": "ping", ');
      expect((await p.next('error')).data).toMatchObject({ code: 'INVALID_JSON', request_type: null, id: null });
      p.sendRaw(Buffer.from(JSON.stringify({ type: 'ping', data: {} })), true);
      const bin = await p.next('error');
      expect(bin.data.code).toBe('INVALID_JSON');
      expect(bin.data.message).toMatch(/binary/i);
      for (const text of ['42', '"ping"', '[]', 'null', '{"data":{}}']) {
        p.sendRaw(text);
        expect((await p.next('error')).data.code, text).toBe('VALIDATION_FAILED');
      }
      p.send('ping', {}, 'ok');
      expect((await p.next('pong')).id).toBe('ok');
    });

    it("accepts the guide client's envelope (type, data, timestamp) as is", async () => {
      const p = await WsProbe.open(t.wsUrl);
      open.push(p);
      await p.next('connection');
      p.sendRaw(JSON.stringify({ type: 'subscribe_asset', data: { symbol: 'AAPL' }, timestamp: new Date().toISOString() }));
      expect((await p.next('subscribed')).data.assets).toEqual(['AAPL']);
    });
  });

  it('REST validation also reports one message per field (a wrong type is not also out of range)', async () => {
    const res = await fetch(`${t.url}/api/assets?limit=abc`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { message: string; details: string[] };
    expect(body.details).toEqual(['limit must be an integer number']);
    expect(body.message).toBe('limit must be an integer number');
  });

  describe('Socket.IO specifics', () => {
    it('acknowledgement callbacks get {ok: true, ...} or {ok: false, error}', async () => {
      const p = await IoProbe.open(t.url);
      open.push(p);
      await p.next('connection');
      const ok = await p.request('subscribe_asset', { symbol: 'TSLA' });
      expect(ok).toMatchObject({ ok: true, type: 'subscribed', assets: ['TSLA'], subscriptions: { assets: ['TSLA'], portfolios: [] } });
      // The snapshot still arrives as an event.
      expect((await p.next('asset_update')).data.symbol).toBe('TSLA');
      const bad = await p.request('subscribe_asset', { symbol: 'NOSUCH2' });
      expect(bad).toEqual({ ok: false, error: expect.objectContaining({ code: 'UNKNOWN_SYMBOL', request_type: 'subscribe_asset', symbols: ['NOSUCH2'] }) });
      const pong = await p.request('ping', {});
      expect(pong).toMatchObject({ ok: true, type: 'pong' });
      const unknown = await p.request('no_such_event', {});
      expect(unknown.error.code).toBe('UNKNOWN_TYPE');
      // With an ack, the reply is not also emitted as an event.
      p.send('ping', {}, 'evt');
      await p.next('pong', (m) => m.id === 'evt');
      expect(p.inbox.received.filter((m) => m.type === 'subscribed')).toHaveLength(0);
    });

    it('accepts a full envelope as the payload; a mismatching envelope type is refused', async () => {
      const p = await IoProbe.open(t.url);
      open.push(p);
      await p.next('connection');
      p.socket.emit('subscribe_asset', { type: 'subscribe_asset', data: { symbol: 'AVGO' }, id: 5 });
      const sub = await p.next('subscribed');
      expect(sub).toMatchObject({ id: 5, data: { assets: ['AVGO'] } });
      p.socket.emit('subscribe_asset', { type: 'unsubscribe_asset', data: { symbol: 'AVGO' } });
      expect((await p.next('error')).data.code).toBe('VALIDATION_FAILED');
      p.socket.emit('ping', Buffer.from('binary'));
      expect((await p.next('error')).data.code).toBe('INVALID_JSON');
      p.socket.emit('ping', {}, 'two', 'args');
      expect((await p.next('error')).data.code).toBe('VALIDATION_FAILED');
    });

    it('every server event carries the full envelope whose type is the event name', async () => {
      const p = await IoProbe.open(t.url);
      open.push(p);
      await p.next('connection');
      p.send('ping', {});
      await p.next('pong');
      p.send('bogus', {});
      await p.next('error');
      expect(p.events).toEqual(p.inbox.received.map((m) => m.type));
      for (const m of p.inbox.received) expect(Object.keys(m).sort()).toEqual(expect.arrayContaining(['data', 'timestamp', 'type']));
    });
  });
});
