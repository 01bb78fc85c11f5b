import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetCatalogService } from '../../src/assets/asset-catalog.service';
import { Connection } from '../../src/realtime/hub/connection';
import { ConnectionRegistry } from '../../src/realtime/hub/connection-registry';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { CLOSE_GRACE_MS } from '../../src/realtime/transports/websocket.connection';
import { startTestApp, TestApp } from '../support/app';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { Envelope, IoProbe, Probe, WsProbe } from '../support/realtime-probes';
import { observeFor, poll } from '../support/poll';

const HIGH_WATER = 16 * 1024;
const HARD_LIMIT = 64 * 1024;

function serverConnection(t: TestApp, id: string): Connection {
  const c = [...t.app.get(ConnectionRegistry).all()].find((x) => x.id === id);
  if (!c) throw new Error(`no server connection ${id}`);
  return c;
}

/** Per symbol: the asset_update messages in arrival order. */
function bySymbol(messages: Envelope[]): Map<string, Envelope[]> {
  const m = new Map<string, Envelope[]>();
  for (const e of messages) {
    if (e.type !== 'asset_update') continue;
    const list = m.get(e.data.symbol) ?? [];
    list.push(e);
    m.set(e.data.symbol, list);
  }
  return m;
}

function expectStrictlyIncreasingSeq(messages: Envelope[]): void {
  for (const [symbol, list] of bySymbol(messages)) {
    for (let i = 1; i < list.length; i++) {
      expect(list[i].data.seq, `${symbol} #${i}`).toBeGreaterThan(list[i - 1].data.seq);
    }
  }
}

describe('realtime: slow consumers', () => {
  let t: TestApp;
  let symbols: string[];

  beforeAll(async () => {
    t = await startTestApp({ WS_BUFFER_HIGH_WATER: String(HIGH_WATER), WS_BUFFER_HARD_LIMIT: String(HARD_LIMIT), WS_STALL_TIMEOUT: '120' });
    symbols = (await t.app.get(AssetCatalogService).allSymbols()).sort().slice(0, 50);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('conflates a stalled reader (bounded server memory, newest value per symbol, order kept) without slowing the others', async () => {
    const hub = t.app.get(RealtimeHub);
    const fastWs = await WsProbe.open(t.wsUrl);
    const fastIo = await IoProbe.open(t.url);
    const slowWs = await WsProbe.open(t.wsUrl);
    const slowIo = await IoProbe.open(t.url);
    const all: Probe[] = [fastWs, fastIo, slowWs, slowIo];
    const ids: string[] = [];
    for (const p of all) {
      ids.push((await p.next('connection')).data.connection_id);
      p.send('subscribe_asset', { symbols });
      await p.next('subscribed');
    }
    for (const p of all) await poll('snapshots', () => p.inbox.received.filter((m) => m.type === 'asset_update').length === 50);
    const slowConns = [serverConnection(t, ids[2]), serverConnection(t, ids[3])];
    const slowTcp = [(slowWs.ws as unknown as { _socket: import('node:net').Socket })._socket, slowIo.netSocket()];
    for (const s of slowTcp) s.pause();

    const BATCHES = 600;
    let maxOutbound = 0;
    for (let i = 1; i <= BATCHES; i++) {
      const price = (100 + i / 100).toFixed(2);
      await publishTicks(
        t,
        symbols.map((s) => tick(s, price)),
      );
      if (i % 10 === 0) {
        await observeFor(1, 'a turn of the event loop: sockets flush');
        for (const c of slowConns) maxOutbound = Math.max(maxOutbound, hub.outboundBytes(c));
      }
    }
    const finalPrice = (100 + BATCHES / 100).toFixed(2);
    const lastOf = (p: Probe) => bySymbol(p.inbox.received);
    const hasFinal = (p: Probe) => {
      const m = lastOf(p);
      return symbols.every((s) => m.get(s)?.at(-1)?.data.price === Number(finalPrice));
    };

    // The fast readers get every update of every symbol, in order.
    await poll('fast readers receive the last batch', () => hasFinal(fastWs) && hasFinal(fastIo), 30_000, 20);
    for (const p of [fastWs, fastIo]) {
      const m = lastOf(p);
      for (const s of symbols) expect(m.get(s)!.length, `${p.kind} ${s}`).toBe(1 + BATCHES);
      expectStrictlyIncreasingSeq(p.inbox.received);
    }

    // The stalled readers were conflated, and the server never held more than the hard limit for them.
    const stats = hub.stats();
    expect(stats.outbound.conflations_total).toBeGreaterThanOrEqual(2);
    expect(stats.outbound.slow_consumer_closes).toBe(0);
    expect(maxOutbound).toBeGreaterThan(HIGH_WATER / 2);
    expect(maxOutbound).toBeLessThanOrEqual(HARD_LIMIT);
    for (const c of slowConns) {
      expect(c.open).toBe(true);
      expect(hub.outboundBytes(c)).toBeLessThanOrEqual(HARD_LIMIT);
    }

    // Reading again: they catch up to the newest price of every symbol, never older-after-newer.
    for (const s of slowTcp) s.resume();
    await poll('stalled readers catch up with the newest values', () => hasFinal(slowWs) && hasFinal(slowIo), 30_000, 20);
    for (const p of [slowWs, slowIo]) {
      expectStrictlyIncreasingSeq(p.inbox.received);
      const total = p.inbox.received.filter((m) => m.type === 'asset_update').length;
      expect(total).toBeLessThan(50 * (1 + BATCHES));
      for (const [, list] of bySymbol(p.inbox.received)) {
        // After the snapshot (catalog price), prices only rise in this scenario.
        for (let i = 2; i < list.length; i++) expect(list[i].data.price).toBeGreaterThanOrEqual(list[i - 1].data.price);
      }
      p.send('ping', {}, 'back');
      expect((await p.next('pong', (m) => m.id === 'back', 10_000)).id).toBe('back');
    }
    await poll('conflation ends once drained', () => hub.stats().outbound.conflated_connections === 0);
    // The skipped seqs are explained: a `status` (delayed, conflated) naming the symbols, then one when caught up.
    for (const p of [slowWs, slowIo]) {
      await poll(`${p.kind}: told it caught up`, () => p.inbox.received.some((m) => m.type === 'status' && m.data.reason === 'caught_up'));
      const told = p.inbox.received.filter((m) => m.type === 'status' && (m.data.reason === 'conflated' || m.data.reason === 'caught_up'));
      expect(told[0].data).toMatchObject({ state: 'delayed', reason: 'conflated', symbols: [...symbols].sort() });
      expect(told.at(-1)!.data).toMatchObject({ state: 'live', reason: 'caught_up', symbols: [...symbols].sort() });
      // The pong's last_seq is what arrived last, per symbol.
      p.send('ping', {}, 'seqs');
      const pong = await p.next('pong', (m) => m.id === 'seqs', 10_000);
      const m = lastOf(p);
      for (const sym of symbols) expect(pong.data.last_seq.assets[sym], sym).toBe(m.get(sym)!.at(-1)!.data.seq);
    }
    for (const p of [fastWs, fastIo]) expect(p.inbox.received.filter((m) => m.type === 'status' && m.data.reason === 'conflated')).toEqual([]);
    for (const p of all) await p.close();
  }, 90_000);
});

describe('realtime: a reader stuck past the stall timeout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WS_BUFFER_HIGH_WATER: '4096', WS_BUFFER_HARD_LIMIT: String(HARD_LIMIT), WS_STALL_TIMEOUT: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is closed with 1013 and released; the other clients carry on; shutdown is not held up', async () => {
    const hub = t.app.get(RealtimeHub);
    const symbols = (await t.app.get(AssetCatalogService).allSymbols()).sort().slice(0, 20);
    const stuck = await WsProbe.open(t.wsUrl);
    const ok = await WsProbe.open(t.wsUrl);
    for (const p of [stuck, ok]) {
      await p.next('connection');
      p.send('subscribe_asset', { symbols });
      await p.next('subscribed');
    }
    await poll('snapshots', () => stuck.inbox.received.filter((m) => m.type === 'asset_update').length === 20);
    stuck.pause();
    let i = 0;
    while (hub.stats().outbound.slow_consumer_closes === 0 && i < 5000) {
      i++;
      await publishTicks(
        t,
        symbols.map((s) => tick(s, (50 + i / 100).toFixed(2))),
      );
      if (i % 20 === 0) await observeFor(20, "the stuck reader's buffer grows");
    }
    expect(hub.stats().outbound.slow_consumer_closes).toBe(1);
    expect(hub.stats().total_connections).toBe(1);
    stuck.resume();
    const closed = await stuck.closed;
    expect(closed.code).toBe(1013);
    ok.send('ping', {}, 'fine');
    expect((await ok.next('pong', (m) => m.id === 'fine', 15_000)).id).toBe('fine');

    // A client that stops reading must not hold up shutdown (close handshake never answered).
    const frozen = await WsProbe.open(t.wsUrl);
    await frozen.next('connection');
    frozen.pause();
    const started = Date.now();
    await t.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    frozen.ws.terminate();
    await ok.close();
  }, 60_000);
});

describe('realtime: a Socket.IO reader stuck past the stall timeout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WS_BUFFER_HIGH_WATER: '4096', WS_BUFFER_HARD_LIMIT: String(HARD_LIMIT), WS_STALL_TIMEOUT: '1' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is disconnected, and its server-side TCP socket and buffers are freed within the close grace', async () => {
    const hub = t.app.get(RealtimeHub);
    const server = t.app.getHttpServer() as import('node:http').Server;
    const serverSockets: import('node:net').Socket[] = [];
    const onConnection = (s: import('node:net').Socket) => serverSockets.push(s);
    server.on('connection', onConnection);
    const connections = () => new Promise<number>((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const symbols = (await t.app.get(AssetCatalogService).allSymbols()).sort().slice(0, 20);
    const stuck = await IoProbe.open(t.url);
    const ok = await IoProbe.open(t.url);
    server.off('connection', onConnection);
    for (const p of [stuck, ok]) {
      await p.next('connection');
      p.send('subscribe_asset', { symbols });
      await p.next('subscribed');
    }
    await poll('snapshots', () => stuck.inbox.received.filter((m) => m.type === 'asset_update').length === 20);
    const clientTcp = stuck.netSocket();
    const serverTcp = serverSockets.find((s) => s.remotePort === clientTcp.localPort);
    expect(serverTcp, "the stuck client's server-side socket").toBeDefined();
    const before = await connections();
    clientTcp.pause();
    let i = 0;
    while (hub.stats().outbound.slow_consumer_closes === 0 && i < 5000) {
      i++;
      await publishTicks(
        t,
        symbols.map((s) => tick(s, (50 + i / 100).toFixed(2))),
      );
      if (i % 20 === 0) await observeFor(20, "the stuck reader's buffer grows");
    }
    expect(hub.stats().outbound.slow_consumer_closes).toBe(1);
    const closedAt = Date.now();
    expect(hub.stats().total_connections).toBe(1);
    // Engine.IO alone would wait for ever for a drain; the server destroys the socket after the grace.
    expect(serverTcp!.destroyed).toBe(false);
    await poll('the server-side TCP socket is destroyed', () => serverTcp!.destroyed, CLOSE_GRACE_MS + 4000, 50);
    expect(Date.now() - closedAt).toBeLessThan(CLOSE_GRACE_MS + 3000);
    await poll('the HTTP server counts one connection less', async () => (await connections()) <= before - 1);
    ok.send('ping', {}, 'fine');
    expect((await ok.next('pong', (m) => m.id === 'fine', 15_000)).id).toBe('fine');
    clientTcp.destroy();
    await ok.close();
  }, 60_000);
});
