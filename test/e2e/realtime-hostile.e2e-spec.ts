import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { IoProbe, openProbe, Probe, WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

/** Hostile and broken clients: every bad frame gets a typed error and the connection keeps working. */
describe('realtime: hostile clients', () => {
  let t: TestApp;
  const open: Probe[] = [];
  const connect = async (kind: 'websocket' | 'socketio') => {
    const p = await openProbe(kind, t);
    open.push(p);
    await p.next('connection');
    return p;
  };
  const connections = () => t.app.get(RealtimeHub).stats().total_connections;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await Promise.all(open.map((p) => p.close()));
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    /** Sends a parsed-JSON value the way each transport would carry it. */
    const sendValue = (p: Probe, value: Record<string, unknown>) => {
      if (p instanceof WsProbe) p.sendRaw(JSON.stringify(value));
      else (p as IoProbe).socket.emit(String(value.type), value);
    };

    it('__proto__ / constructor keys get VALIDATION_FAILED and pollute nothing', async () => {
      const p = await connect(kind);
      const payloads = [
        '{"type":"subscribe_asset","data":{"symbol":"AAPL","__proto__":{"polluted":true}}}',
        '{"type":"ping","data":{},"__proto__":{"polluted":true}}',
        '{"type":"subscribe_asset","data":{"constructor":{"prototype":{"polluted":true}},"symbol":"AAPL"}}',
      ];
      for (const text of payloads) {
        sendValue(p, JSON.parse(text));
        const e = await p.next('error');
        expect(e.data.code).toBe('VALIDATION_FAILED');
        expect(e.data.message).toMatch(/Forbidden key/);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
      p.send('ping', {}, 'alive');
      expect((await p.next('pong')).id).toBe('alive');
    });

    it('deep nesting gets VALIDATION_FAILED', async () => {
      const p = await connect(kind);
      let deep: unknown = {};
      for (let i = 0; i < 500; i++) deep = { a: deep };
      sendValue(p, { type: 'ping', data: deep as Record<string, unknown> });
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'VALIDATION_FAILED', request_type: 'ping' });
      expect(e.data.message).toMatch(/nested too deeply/);
      p.send('ping', {}, 'alive');
      expect((await p.next('pong')).id).toBe('alive');
    });

    it('huge strings (under the frame limit) get VALIDATION_FAILED', async () => {
      const p = await connect(kind);
      sendValue(p, { type: 'subscribe_asset', data: { symbol: 'A'.repeat(60_000) } });
      expect((await p.next('error')).data.message).toMatch(/String too long/);
      sendValue(p, { type: 'ping', data: {}, id: 'x'.repeat(5000) });
      expect((await p.next('error')).data.code).toBe('VALIDATION_FAILED');
      sendValue(p, { type: 'subscribe_asset', data: { symbol: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789' } });
      expect((await p.next('error')).data.code).toBe('VALIDATION_FAILED');
      p.send('ping', {}, 'alive');
      expect((await p.next('pong')).id).toBe('alive');
    });

    it('a flood gets RATE_LIMITED, and persistent abuse closes the connection', async () => {
      const p = await connect(kind);
      const before = connections();
      for (let i = 0; i < 400; i++) p.send('ping', {}, i);
      const closed = await p.closed;
      expect(p.inbox.received.some((m) => m.type === 'error' && m.data.code === 'RATE_LIMITED')).toBe(true);
      if (kind === 'websocket') {
        expect(closed.code).toBe(1008);
        expect(closed.reason).toMatch(/rate limit/i);
      } else {
        expect(closed.reason).toBe('io server disconnect');
      }
      // Served well under the flood: at most rate + burst pongs.
      expect(p.inbox.received.filter((m) => m.type === 'pong').length).toBeLessThanOrEqual(61);
      await poll('the flooder is released', () => connections() === before - 1);
      // Everyone else is fine.
      const q = await connect(kind);
      q.send('ping', {}, 'fine');
      expect((await q.next('pong')).id).toBe('fine');
    });

    it('abrupt client death (TCP destroyed) releases the connection and its subscriptions', async () => {
      const p = await connect(kind);
      p.send('subscribe_asset', { symbols: ['AAPL', 'MSFT'] });
      await p.next('subscribed');
      const hub = t.app.get(RealtimeHub);
      const before = hub.stats();
      p.destroy();
      await poll('the dead connection is released', () => hub.stats().total_connections === before.total_connections - 1);
      expect(hub.stats().asset_subscriptions).toBe(before.asset_subscriptions - 2);
    });
  });

  describe('raw WebSocket frames', () => {
    it('a frame over WS_MAX_PAYLOAD (64 KiB) closes with 1009', async () => {
      const p = (await connect('websocket')) as WsProbe;
      p.sendRaw(JSON.stringify({ type: 'ping', data: { pad: 'x'.repeat(70_000) } }));
      const closed = await p.closed;
      expect(closed.code).toBe(1009);
      const q = (await connect('websocket')) as WsProbe;
      // Just under the limit: a typed error, not a close.
      q.sendRaw(JSON.stringify({ type: 'ping', data: { pad: 'x'.repeat(65_000) } }));
      expect((await q.next('error')).data.code).toBe('VALIDATION_FAILED');
    });

    it('too many values in one message gets VALIDATION_FAILED', async () => {
      const p = (await connect('websocket')) as WsProbe;
      p.sendRaw(JSON.stringify({ type: 'ping', data: { list: Array.from({ length: 5000 }, (_, i) => i) } }));
      expect((await p.next('error')).data.message).toMatch(/too many values/);
    });

    it('upgrades on other paths are refused with 404', async () => {
      await expect(WsProbe.open(t.wsUrl, { path: '/ws/other/' })).rejects.toMatchObject({ statusCode: 404 });
      await expect(WsProbe.open(t.wsUrl, { query: 'batch=3ms' })).rejects.toMatchObject({ statusCode: 400 });
    });
  });

  describe('Socket.IO payloads', () => {
    it('a payload over the limit disconnects the socket; others are unaffected', async () => {
      const p = (await connect('socketio')) as IoProbe;
      const q = (await connect('socketio')) as IoProbe;
      p.socket.emit('ping', { pad: 'x'.repeat(70_000) });
      const closed = await p.closed;
      expect(closed.reason).toMatch(/transport (close|error)/);
      q.send('ping', {}, 'fine');
      expect((await q.next('pong')).id).toBe('fine');
    });
  });
});

describe('realtime: heartbeat', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ HEARTBEAT_INTERVAL: '1', WEBSOCKET_TIMEOUT: '2' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['websocket', 'socketio'] as const)('%s: a peer that stops answering is dropped after WEBSOCKET_TIMEOUT; a live one stays', async (kind) => {
    const hub = t.app.get(RealtimeHub);
    const live = await openProbe(kind, t);
    const silent = await openProbe(kind, t);
    await live.next('connection');
    await silent.next('connection');
    silent.send('subscribe_asset', { symbol: 'AAPL' });
    await silent.next('subscribed');
    expect(hub.stats().total_connections).toBe(2);
    // Stop reading: no pongs go back.
    const tcp = silent instanceof WsProbe ? (silent.ws as unknown as { _socket: import('node:net').Socket })._socket : (silent as IoProbe).netSocket();
    tcp.pause();
    await poll('the silent peer is dropped', () => hub.stats().total_connections === 1, 8000, 50);
    expect(hub.stats().asset_subscriptions).toBe(0);
    live.send('ping', {}, 'still-here');
    expect((await live.next('pong')).id).toBe('still-here');
    await live.close();
    tcp.destroy();
    await poll('all released', () => hub.stats().total_connections === 0);
  });

  it('spreads a round of pings over the interval instead of pinging every socket at once', async () => {
    const probes = await Promise.all(Array.from({ length: 10 }, () => WsProbe.open(t.wsUrl)));
    try {
      await Promise.all(probes.map((p) => p.next('connection')));
      const firstPing = new Map<WsProbe, number>();
      for (const p of probes) p.ws.on('ping', () => firstPing.has(p) || firstPing.set(p, Date.now()));
      // Two rounds at most (a round already under way skips connections opened after it started).
      await poll('every socket pinged', () => firstPing.size === probes.length, 5_000, 20);
      const times = [...firstPing.values()].sort((a, b) => a - b);
      // 10 sockets over the 1 s interval's 5 slices of HEARTBEAT_SLICE_MS (200 ms), two per slice: about 800 ms apart.
      expect(times.at(-1)! - times[0]).toBeGreaterThanOrEqual(400);
    } finally {
      await Promise.all(probes.map((p) => p.close()));
    }
  });
});
