import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeClient, type AssetUpdateData, type WebSocketLike } from '../../client';
import { ConnectionRegistry } from '../../src/realtime/hub/connection-registry';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { CloseCode } from '../../src/realtime/protocol/error-codes';
import { parseSseCursor } from '../../src/realtime/transports/sse-request';
import { SseTransport } from '../../src/realtime/transports/sse.transport';
import { startTestApp, TestApp } from '../support/app';
import { observeFor, poll } from '../support/poll';
import { addAssets, addPosition, commitPrices, createPortfolio, loginAs } from '../support/realtime-fixtures';
import { fetchEventSource, SseProbe, type SseRefusal } from '../support/sse-probe';

const HISTORY = 5;
const MAX_PER_USER = 2;
const MAX_SUBSCRIPTIONS = 5;
const IDLE_TIMEOUT = 2;

/**
 * The Server-Sent Events fallback (issue 14) against the real server: the stream's headers and
 * events, refusals before it starts, portfolios, Last-Event-ID resume with the database's seqs
 * (PriceBatchWriter, then the bus, as the feed does), POSTed client messages, the idle timeout,
 * release on disconnect, and the typed client over SSE and falling back to it.
 */
describe('realtime over Server-Sent Events (/realtime/sse)', () => {
  let t: TestApp;
  const probes: SseProbe[] = [];
  const clients: RealtimeClient[] = [];
  let n = 0;

  const sseUrl = (query = '') => `${t.url}/realtime/sse${query ? `?${query}` : ''}`;
  const open = async (query = '', opts: Parameters<typeof SseProbe.open>[1] = {}) => {
    const p = await SseProbe.open(sseUrl(query), opts);
    probes.push(p);
    await p.next('connection');
    return p;
  };
  const refused = async (query: string, opts: Parameters<typeof SseProbe.open>[1] = {}): Promise<SseRefusal> => {
    const r = await SseProbe.request(sseUrl(query), opts);
    if (r instanceof SseProbe) {
      probes.push(r);
      throw new Error(`expected a refusal for ?${query}, got a stream`);
    }
    return r;
  };
  const hub = () => t.app.get(RealtimeHub);

  /** Stores a newer price through the batch writer and publishes what it committed (the feed's path); returns its seq. */
  async function commit(symbol: string, price: string): Promise<number> {
    const committed = await commitPrices(t, [[symbol, price]]);
    expect(committed).toHaveLength(1);
    return committed[0].seq!;
  }

  async function freshSymbol(): Promise<string> {
    const s = `SSE${++n}`;
    await addAssets(t, [s]);
    return s;
  }

  /** The hub holds `seq` for `symbol` (the bus message was handled). */
  const held = (symbol: string, seq: number) => poll(`the hub to hold ${symbol}:${seq}`, () => hub().index.peekAsset(symbol)?.seq === seq);

  beforeAll(async () => {
    t = await startTestApp({
      REALTIME_HISTORY_SIZE: String(HISTORY),
      MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER),
      MAX_SUBSCRIPTIONS_PER_CONNECTION: String(MAX_SUBSCRIPTIONS),
      HEARTBEAT_INTERVAL: '1',
      WS_IDLE_TIMEOUT: String(IDLE_TIMEOUT),
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.dispose();
    await Promise.all(probes.splice(0).map((p) => p.close()));
    await poll('every connection released', () => hub().stats().total_connections === 0);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('streams text/event-stream: retry, connection, one subscribed, the snapshots, then live updates with a resume id; keep-alive comments', async () => {
    const [a, b] = [await freshSymbol(), await freshSymbol()];
    const p = await open(`symbols=${a},${b.toLowerCase()}`);
    expect(p.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(p.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(p.headers.get('x-accel-buffering')).toBe('no');
    expect(p.raw.startsWith('retry: 3000\n\nevent: connection\ndata: {')).toBe(true);
    expect(p.parser.retry).toBe(3000);

    const [connection, subscribed] = p.events;
    const conn = JSON.parse(connection.data);
    expect(conn).toMatchObject({ type: 'connection', data: { status: 'connected', transport: 'sse', authenticated: false, user_id: null } });
    expect(Object.keys(conn)).toEqual(['type', 'data', 'timestamp']);
    expect(conn.data.sse_token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(connection.id).toBeNull();
    expect(subscribed.event).toBe('subscribed');
    expect(JSON.parse(subscribed.data).data).toEqual({ assets: [a, b], portfolios: [], subscriptions: { assets: [a, b], portfolios: [] } });

    // Snapshots: one per symbol, each with the resume cursor as its id.
    const snaps = [await p.next('asset_update'), await p.next('asset_update')];
    expect(snaps.map((m) => m.data.symbol).sort()).toEqual([a, b]);
    for (const m of snaps) expect(parseSseCursor(m.event.id, 10)?.get(m.data.symbol)).toBe(m.data.seq);

    const seq = await commit(a, '101.5');
    const live = await p.next('asset_update', (m) => m.data.seq === seq);
    expect(live.data).toMatchObject({ symbol: a, price: 101.5 });
    // The id carries the last seq sent of every symbol of the stream.
    const snapB = snaps.find((m) => m.data.symbol === b)!;
    expect(Object.fromEntries(parseSseCursor(live.event.id, 10)!)).toEqual({ [a]: seq, [b]: snapB.data.seq });
    // The data is the raw WebSocket's envelope, byte for byte: {"type":...,"data":...,"timestamp":...}.
    expect(live.event.data).toMatch(/^\{"type":"asset_update","data":\{"symbol":"SSE\d+",.*\},"timestamp":"[^"]+"\}$/);

    await poll('a keep-alive comment', () => p.parser.comments.includes('keep-alive'), 5000);
    expect(p.raw).toContain('\n\n: keep-alive\n\n');

    // Counted as its own transport, on the status page and in the metrics.
    const status = (await (await fetch(`${t.url}/realtime/status/`)).json()) as any;
    expect(status.global_stats.connections_by_transport).toEqual({ websocket: 0, socketio: 0, sse: 1 });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^realtime_connections\{transport="sse",authenticated="false"\} 1$/m);
  });

  it('refuses before the stream starts, with the usual error JSON: 400, 401, 403, 404, 429', async () => {
    const s = await freshSymbol();
    const expectRefusal = (r: SseRefusal, status: number, error: string) => {
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      expect(r.body).toMatchObject({ statusCode: status, error, message: expect.any(String) });
    };
    expectRefusal(await refused('symbols=AA$PL'), 400, 'BAD_REQUEST');
    const unknown = await refused(`symbols=${s},NOPEZZ`);
    expectRefusal(unknown, 400, 'BAD_REQUEST');
    expect(unknown.body.details).toEqual({ code: 'UNKNOWN_SYMBOL', symbols: ['NOPEZZ'] });
    expectRefusal(await refused(`symbols=${['A1', 'A2', 'A3', 'A4', 'A5', 'A6'].join(',')}`), 400, 'BAD_REQUEST');
    const many = await refused(`symbols=${s}&portfolios=1,2,3,4,5`);
    expect(many.body.message).toMatch(/at most 5 subscriptions/);
    expectRefusal(await refused('portfolios=abc'), 400, 'BAD_REQUEST');
    expectRefusal(await refused('batch=3ms'), 400, 'BAD_REQUEST');
    expectRefusal(await refused('portfolios=1'), 401, 'UNAUTHORIZED');
    expectRefusal(await refused(`symbols=${s}`, { origin: 'http://evil.example' }), 403, 'FORBIDDEN');

    const owner = await loginAs(t, 'sse-owner');
    const other = await loginAs(t, 'sse-other');
    const id = await createPortfolio(t, owner.cookie, 'Mine');
    const notYours = await refused(`portfolios=${id}`, { cookie: other.cookie, origin: t.url });
    expectRefusal(notYours, 404, 'NOT_FOUND');
    const missing = await refused('portfolios=2147483000', { cookie: other.cookie, origin: t.url });
    expectRefusal(missing, 404, 'NOT_FOUND');
    // Someone else's portfolio and a missing one: the same answer.
    expect(notYours.body.message.replace(String(id), 'N')).toBe(missing.body.message.replace('2147483000', 'N'));

    // MAX_CONNECTIONS_PER_USER: the user's streams (and sockets) together.
    const session = { cookie: other.cookie, origin: t.url };
    const first = await open(`symbols=${s}`, session);
    expect(JSON.parse(first.events[0].data).data).toMatchObject({ authenticated: true, user_id: other.userId });
    await open(`symbols=${s}`, session);
    expectRefusal(await refused(`symbols=${s}`, session), 429, 'TOO_MANY_REQUESTS');
    expect(t.app.get(ConnectionRegistry).userConnectionCount(other.userId)).toBe(MAX_PER_USER);
    expect(hub().stats().total_connections).toBe(MAX_PER_USER);
  });

  it("streams the owner's portfolio: snapshot, then a live portfolio_update", async () => {
    const s = await freshSymbol();
    const user = await loginAs(t, 'sse-portfolio');
    const id = await createPortfolio(t, user.cookie, 'Streamed');
    await addPosition(t, user.cookie, id, s, '2', '90');
    const p = await open(`portfolios=${id}&symbols=${s}`, { cookie: user.cookie, origin: t.url });
    expect((await p.next('subscribed')).data).toMatchObject({ assets: [s], portfolios: [id] });
    const snapshot = await p.next('portfolio_update');
    expect(snapshot.data).toMatchObject({ portfolio_id: id, name: 'Streamed' });
    expect(snapshot.event.id).toBeNull();
    // The valuation engine may take the new position after the snapshot: then its update follows.
    if (snapshot.data.positions_count !== 1) await p.next('portfolio_update', (m) => m.data.positions_count === 1);
    await commit(s, '150');
    const live = await p.next('portfolio_update', (m) => m.data.total_value === 300);
    expect(live.data.seq).toBeGreaterThan(snapshot.data.seq);
  });

  it('resumes from Last-Event-ID: exactly the missed updates, in order, then live ones (header, or ?last_event_id=)', async () => {
    const s = await freshSymbol();
    const first = await open(`symbols=${s}`);
    await first.next('asset_update');
    await commit(s, '110');
    const last = await commit(s, '111');
    const cut = await first.next('asset_update', (m) => m.data.seq === last);
    expect(cut.event.id).toBe(`${s}:${last}`);
    await first.close();

    const missed = [await commit(s, '112'), await commit(s, '113'), await commit(s, '114')];
    await held(s, missed[2]);

    // EventSource's own reconnect: the same URL, and the last id as Last-Event-ID.
    const again = await open(`symbols=${s}`, { lastEventId: cut.event.id! });
    const reply = await again.next('subscribed');
    expect(reply.data).toEqual({
      assets: [s],
      portfolios: [],
      subscriptions: { assets: [s], portfolios: [] },
      recovered: { assets: { [s]: true }, portfolios: {} },
    });
    const live = await commit(s, '115');
    await again.next('asset_update', (m) => m.data.seq === live);
    await observeFor(150, 'nothing else arrives for the symbol');
    expect(again.all('asset_update').map((m) => [m.data.seq, m.data.price])).toEqual([
      [missed[0], 112],
      [missed[1], 113],
      [missed[2], 114],
      [live, 115],
    ]);
    expect(again.events.filter((e) => e.event === 'asset_update').map((e) => e.id)).toEqual([...missed, live].map((q) => `${s}:${q}`));
    expect(again.events.map((e) => e.event).slice(0, 2)).toEqual(['connection', 'subscribed']);

    // The query parameter, for clients that cannot set headers; a symbol only in the cursor is subscribed too.
    const other = await freshSymbol();
    const otherSeq = await commit(other, '50');
    await held(other, otherSeq);
    await again.close();
    const byQuery = await open(`last_event_id=${encodeURIComponent(`${s}:${missed[2]},${other}:${otherSeq}`)}`);
    const r = await byQuery.next('subscribed');
    expect(r.data).toMatchObject({ assets: [s, other], recovered: { assets: { [s]: true, [other]: true } } });
    expect((await byQuery.next('asset_update')).data).toMatchObject({ symbol: s, seq: live });
    await observeFor(100, 'only the one missed update');
    expect(byQuery.all('asset_update')).toHaveLength(1);
  });

  it('beyond the history: recovered false, the current snapshot, then live', async () => {
    const s = await freshSymbol();
    const first = await open(`symbols=${s}`);
    const last = await commit(s, '120');
    const cut = await first.next('asset_update', (m) => m.data.seq === last);
    await first.close();
    let newest = last;
    for (let i = 1; i <= HISTORY + 2; i++) newest = await commit(s, String(120 + i));
    await held(s, newest);

    const again = await open(`symbols=${s}`, { lastEventId: cut.event.id! });
    expect((await again.next('subscribed')).data.recovered).toEqual({ assets: { [s]: false }, portfolios: {} });
    const snap = await again.next('asset_update');
    expect([snap.data.seq, snap.data.price]).toEqual([newest, 120 + HISTORY + 2]);
    expect(snap.event.id).toBe(`${s}:${newest}`);
    await observeFor(150, 'only the snapshot');
    expect(again.all('asset_update')).toHaveLength(1);
    const live = await commit(s, '200');
    expect((await again.next('asset_update')).data.seq).toBe(live);
  });

  it('ignores a garbage Last-Event-ID (as if absent: a plain subscribe and its snapshot, never a 500)', async () => {
    const s = await freshSymbol();
    const seq = await commit(s, '77');
    await held(s, seq);
    for (const garbage of ['garbage', `${s}:1:2`, `${s.toLowerCase()}:1`, `${s}:99999999999999999`, `${s}:-1`, `${s}:1,${s}:2`, `,${s}:1`, 'x'.repeat(9000)]) {
      const p = await open(`symbols=${s}`, { lastEventId: garbage });
      const reply = await p.next('subscribed');
      expect(reply.data.recovered, garbage.slice(0, 20)).toBeUndefined();
      expect((await p.next('asset_update')).data.seq).toBe(seq);
      await p.close();
    }
    const p = await open(`symbols=${s}&last_event_id=%00%ff`);
    expect((await p.next('subscribed')).data.recovered).toBeUndefined();
  });

  it('takes client messages by POST with the stream token: replies on the stream with their id; 403, 404, 413', async () => {
    const [s, added] = [await freshSymbol(), await freshSymbol()];
    const p = await open(`symbols=${s}`);
    const other = await open(`symbols=${s}`);
    await p.next('asset_update', (m) => m.data.symbol === s);
    const ping = await p.post({ type: 'ping', data: {}, id: 'p1' });
    expect(ping).toEqual({ status: 202, body: { status: 'accepted' } });
    const pong = await p.next('pong', (m) => m.id === 'p1');
    expect(pong.data.last_seq).toEqual({ assets: expect.any(Object), portfolios: {} });

    // subscribe_asset, as application/json this time: added, its snapshot follows.
    expect((await p.post({ type: 'subscribe_asset', data: { symbol: added }, id: 7 }, { contentType: 'application/json' })).status).toBe(202);
    expect((await p.next('subscribed', (m) => m.id === 7)).data).toMatchObject({ assets: [added], subscriptions: { assets: [s, added].sort() } });
    const snap = await p.next('asset_update', (m) => m.data.symbol === added);
    expect(parseSseCursor(snap.event.id, 10)?.has(s)).toBe(true);
    expect(parseSseCursor(snap.event.id, 10)?.has(added)).toBe(true);
    const seq = await commit(added, '42');
    expect((await p.next('asset_update', (m) => m.data.seq === seq)).data.symbol).toBe(added);

    // Validated exactly like a WebSocket frame.
    await p.post('{not json');
    expect((await p.next('error')).data).toMatchObject({ code: 'INVALID_JSON', request_type: null, id: null });
    await p.post({ type: 'subscribe_asset', data: { symbol: 'NOPEZZ' }, id: 'u' });
    expect((await p.next('error', (m) => m.id === 'u')).data).toMatchObject({ code: 'UNKNOWN_SYMBOL', request_type: 'subscribe_asset' });
    await p.post({ type: 'nope', id: 'x' });
    expect((await p.next('error', (m) => m.id === 'x')).data.code).toBe('UNKNOWN_TYPE');

    // Only with this stream's token, only for a stream of this instance.
    const otherToken = JSON.parse(other.events[0].data).data.sse_token;
    expect((await p.post({ type: 'ping', id: 'w' }, { token: otherToken })).status).toBe(403);
    expect((await p.post({ type: 'ping', id: 'w' }, { token: '' })).status).toBe(403);
    const missing = await p.post({ type: 'ping', id: 'w' }, { connectionId: '00000000-0000-4000-8000-000000000000' });
    expect(missing).toMatchObject({ status: 404, body: { statusCode: 404, error: 'NOT_FOUND' } });
    expect((await p.post('x'.repeat(70_000))).status).toBe(413);
    expect((await p.post('type=ping', { contentType: 'application/x-www-form-urlencoded' })).status).toBe(400);
    await observeFor(100, 'no reply to refused POSTs');
    expect(p.all('pong')).toHaveLength(1);
    expect(other.all('pong')).toHaveLength(0);
  });

  it('batched frames (?batch=50ms): one asset_updates event per interval, its id moved by every update in it', async () => {
    const [a, b] = [await freshSymbol(), await freshSymbol()];
    const p = await open(`symbols=${a},${b}&batch=50ms`);
    expect(JSON.parse(p.events[0].data).data.batch_ms).toBe(50);
    await p.next('asset_updates', (m) => m.data.updates.length === 2);
    const committed = await commitPrices(t, [
      [a, '60'],
      [b, '61'],
    ]);
    const batch = await p.next('asset_updates', (m) => m.data.updates.some((u: AssetUpdateData) => u.price === 61));
    const seqs = Object.fromEntries(committed.map((c) => [c.symbol, c.seq]));
    expect(Object.fromEntries(parseSseCursor(batch.event.id, 10)!)).toEqual(seqs);
  });

  it('WS_IDLE_TIMEOUT closes a stream with nothing to do (an IDLE_TIMEOUT error event, then the end), not one with subscriptions', async () => {
    const s = await freshSymbol();
    const idle = await open();
    const busy = await open(`symbols=${s}`);
    const notice = await idle.next('error', () => true, (IDLE_TIMEOUT + 3) * 1000);
    expect(notice.data).toMatchObject({ code: 'IDLE_TIMEOUT', request_type: null, id: null });
    await poll('the idle stream to end', () => idle.isEnded);
    await poll('the idle stream forgotten', () => t.app.get(SseTransport).size === 1);
    expect(busy.isEnded).toBe(false);
    const seq = await commit(s, '9');
    expect((await busy.next('asset_update', (m) => m.data.seq === seq)).data.symbol).toBe(s);
  });

  it('a client that goes away releases everything: connection, user slot, subscriptions', async () => {
    const s = await freshSymbol();
    const user = await loginAs(t, 'sse-leaver');
    const id = await createPortfolio(t, user.cookie, 'Left');
    const p = await open(`symbols=${s}&portfolios=${id}`, { cookie: user.cookie, origin: t.url });
    await p.next('subscribed');
    expect(hub().stats()).toMatchObject({ total_connections: 1, asset_subscriptions: 1, portfolio_subscriptions: 1 });
    expect(t.app.get(SseTransport).size).toBe(1);
    await p.close();
    await poll('the stream released', () => hub().stats().total_connections === 0);
    expect(hub().stats()).toMatchObject({ authenticated_users: 0, asset_subscriptions: 0, portfolio_subscriptions: 0 });
    expect(t.app.get(ConnectionRegistry).userConnectionCount(user.userId)).toBe(0);
    expect(t.app.get(SseTransport).size).toBe(0);
  });

  it('the typed client over sse: connect, ping, subscribe by POST, live updates; after a drop it reconnects with its topics and last seqs in the URL', async () => {
    const s = await freshSymbol();
    const urls: string[] = [];
    const client = new RealtimeClient({
      transport: 'sse',
      baseUrl: t.url,
      headers: { origin: t.url },
      createEventSource: fetchEventSource({ origin: t.url }, urls),
      reconnect: { initialDelayMs: 50, maxDelayMs: 200, factor: 2, jitter: 0 },
    });
    clients.push(client);
    const updates: AssetUpdateData[] = [];
    client.on('asset_update', (u) => updates.push(u));
    client.connect();
    await poll('connected', () => client.state === 'connected');
    expect(client.connection).toMatchObject({ transport: 'sse', authenticated: false });
    const { pong } = await client.ping();
    expect(pong.type).toBe('pong');
    const reply = await client.subscribeAssets(s);
    expect(reply?.data).toMatchObject({ assets: [s] });
    await poll('the snapshot', () => updates.length === 1);
    const seqs = [await commit(s, '301'), await commit(s, '302')];
    await poll('live updates', () => updates.at(-1)?.seq === seqs[1]);

    // The server drops the stream; prices move meanwhile.
    const conn = [...t.app.get(ConnectionRegistry).all()][0];
    hub().drop(conn, CloseCode.GOING_AWAY, 'test drop');
    seqs.push(await commit(s, '303'), await commit(s, '304'));
    await poll('reconnected', () => urls.length === 2 && client.state === 'connected');
    expect(urls[0]).toBe(`${t.url}/realtime/sse`);
    expect(urls[1]).toBe(`${t.url}/realtime/sse?symbols=${s}&last_event_id=${encodeURIComponent(`${s}:${seqs[1]}`)}`);
    const latest = await commit(s, '305');
    await poll('every update after the reconnect', () => updates.at(-1)?.seq === latest);
    // No gap, no duplicate, in order.
    const after = updates.map((u) => u.seq).filter((q) => q >= seqs[0]);
    expect(after).toEqual([...seqs, latest]);
    expect(client.subscriptions.assets).toEqual([s]);
  });

  it('is advertised: /realtime/websocket-info/ and the AsyncAPI document (a server, the stream and its messages)', async () => {
    const info = (await (await fetch(`${t.url}/realtime/websocket-info/`)).json()) as any;
    expect(info.connection_info.sse).toEqual({
      url: `${t.url}/realtime/sse`,
      path: '/realtime/sse',
      messages_path: '/realtime/sse/{connection_id}/messages',
    });
    const doc = (await (await fetch(`${t.url}/realtime/asyncapi.json`)).json()) as any;
    expect(doc.servers.sse).toMatchObject({ protocol: 'http', pathname: '/realtime/sse' });
    expect(doc.channels.sse.address).toBe('/realtime/sse');
    expect(doc.channels.sse_messages.address).toBe('/realtime/sse/{connection_id}/messages');
    expect(doc.operations.sse_send_asset_update.channel).toEqual({ $ref: '#/channels/sse' });
    expect(doc.operations.sse_receive_ping).toMatchObject({
      channel: { $ref: '#/channels/sse_messages' },
      reply: { channel: { $ref: '#/channels/sse' } },
    });
    expect(doc.components.messages.connection.payload.properties.data.properties.transport.enum).toContain('sse');
  });

  it('the typed client falls back to sse when its WebSocket fails N times in a row', async () => {
    const s = await freshSymbol();
    const states: string[] = [];
    const client = new RealtimeClient({
      transport: 'websocket',
      baseUrl: t.url,
      // A path that refuses upgrades (404), like a proxy that blocks WebSocket.
      wsPath: '/no-websocket-here/',
      createWebSocket: (url) => new WebSocket(url, { headers: { origin: t.url } }) as unknown as WebSocketLike,
      sseFallback: 2,
      headers: { origin: t.url },
      createEventSource: fetchEventSource({ origin: t.url }),
      reconnect: { initialDelayMs: 20, maxDelayMs: 100, factor: 2, jitter: 0 },
    });
    clients.push(client);
    client.onState((c) => states.push(c.state));
    const updates: AssetUpdateData[] = [];
    client.on('asset_update', (u) => updates.push(u));
    await client.subscribeAssets(s);
    client.connect();
    await poll('connected over sse', () => client.state === 'connected');
    expect(client.activeTransport).toBe('sse');
    expect(client.transportKind).toBe('websocket');
    expect(client.connection?.transport).toBe('sse');
    expect(states.filter((x) => x === 'reconnecting').length).toBeGreaterThanOrEqual(2);
    await poll('the snapshot', () => updates.length >= 1);
    const seq = await commit(s, '88');
    await poll('a live update', () => updates.at(-1)?.seq === seq);
  });
});
