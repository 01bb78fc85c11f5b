import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealtimeHub } from '../../src/realtime/hub/realtime-hub.service';
import { startTestApp, TestApp } from '../support/app';
import { CloseInfo, IoProbe, openProbe, Probe, WsProbe } from '../support/realtime-probes';
import { observeFor, poll } from '../support/poll';

const IDLE_TIMEOUT_S = 1;
const MAX_PROTOCOL_ERRORS = 5;

/** Resolves with how the probe was closed, or rejects after `ms` (bounded wait). */
function closedWithin(p: Probe, ms: number, what: string): Promise<CloseInfo> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.closed,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not closed within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** One invalid message per protocol error code the limit counts (raw: also malformed JSON). */
function sendInvalid(p: Probe, i: number): void {
  if (p instanceof WsProbe && i % 3 === 0) p.sendRaw('{"type": "ping", ');
  else if (i % 3 === 1) p.send('no_such_type', {}, `bad-${i}`);
  else p.send('subscribe_asset', { symbol: 5 }, `bad-${i}`);
}

/** Abuse limits: idle connections, persistent protocol errors, ping-frame floods. */
describe('realtime: abuse limits', () => {
  let t: TestApp;
  const open: Probe[] = [];
  const hub = () => t.app.get(RealtimeHub);
  const connect = async (kind: 'websocket' | 'socketio') => {
    const p = await openProbe(kind, t);
    open.push(p);
    await p.next('connection');
    return p;
  };

  beforeAll(async () => {
    t = await startTestApp({ WS_IDLE_TIMEOUT: String(IDLE_TIMEOUT_S), WS_MAX_PROTOCOL_ERRORS: String(MAX_PROTOCOL_ERRORS) });
  });
  afterAll(async () => {
    await Promise.all(open.map((p) => p.close()));
    await t?.close();
  });

  describe.each(['websocket', 'socketio'] as const)('over %s', (kind) => {
    it('the connection message announces both limits', async () => {
      const count = hub().stats().total_connections;
      const p = await openProbe(kind, t);
      try {
        const hello = await p.next('connection');
        expect(hello.data.limits).toMatchObject({ idle_timeout: IDLE_TIMEOUT_S, max_protocol_errors_per_minute: MAX_PROTOCOL_ERRORS });
      } finally {
        await p.close();
      }
      // Gone from the hub before the idle test counts connections.
      await poll('the probe released', () => hub().stats().total_connections === count);
    });

    it('WS_IDLE_TIMEOUT: a connection that sends nothing valid is closed with IDLE_TIMEOUT and released; one that subscribed or sent a valid message stays', async () => {
      const before = hub().stats().total_connections;
      const silent = await connect(kind);
      // Invalid messages do not make a connection useful.
      const talker = await connect(kind);
      sendInvalid(talker, 1);
      expect((await talker.next('error')).data.code).toBe('UNKNOWN_TYPE');
      const subscriber = await connect(kind);
      subscriber.send('subscribe_asset', { symbol: 'AAPL' });
      await subscriber.next('subscribed');
      const pinger = await connect(kind);
      pinger.send('ping', {}, 'once');
      await pinger.next('pong');
      const started = Date.now();
      for (const p of [silent, talker]) {
        const closed = await closedWithin(p, IDLE_TIMEOUT_S * 1000 + 3000, `${kind} idle connection`);
        if (kind === 'websocket') {
          expect(closed.code).toBe(1008);
          expect(closed.reason).toMatch(/^IDLE_TIMEOUT: /);
        } else {
          expect(closed.reason).toBe('io server disconnect');
          const notice = p.inbox.received.find((m) => m.type === 'error' && m.data.code === 'IDLE_TIMEOUT');
          expect(notice?.data).toMatchObject({ code: 'IDLE_TIMEOUT', request_type: null, id: null });
          expect(notice?.data.message).toMatch(/^IDLE_TIMEOUT: /);
        }
      }
      expect(Date.now() - started).toBeLessThan(IDLE_TIMEOUT_S * 1000 + 3000);
      await poll('idle connections released', () => hub().stats().total_connections === before + 2);
      // Bounded observation window, well past the idle timeout and its check period: the others stay.
      await observeFor(Math.max(0, started + IDLE_TIMEOUT_S * 1000 + 1500 - Date.now()), 'past the idle timeout and its check period: the others stay');
      for (const p of [subscriber, pinger]) {
        p.send('ping', {}, 'still-here');
        expect((await p.next('pong', (m) => m.id === 'still-here')).id).toBe('still-here');
        expect(p.inbox.received.some((m) => m.type === 'error')).toBe(false);
      }
      expect(hub().stats().total_connections).toBe(before + 2);
    });

    it(`WS_MAX_PROTOCOL_ERRORS (${MAX_PROTOCOL_ERRORS}) invalid messages: each answered, then closed with PROTOCOL_ERRORS`, async () => {
      const before = hub().stats().total_connections;
      const p = await connect(kind);
      // Valid traffic first: the connection is in use, not idle.
      p.send('subscribe_asset', { symbol: 'MSFT' });
      await p.next('subscribed');
      for (let i = 0; i < MAX_PROTOCOL_ERRORS - 1; i++) {
        sendInvalid(p, i);
        expect(['INVALID_JSON', 'UNKNOWN_TYPE', 'VALIDATION_FAILED']).toContain((await p.next('error')).data.code);
      }
      // Under the limit the connection still works.
      p.send('ping', {}, 'under-limit');
      expect((await p.next('pong')).id).toBe('under-limit');
      sendInvalid(p, MAX_PROTOCOL_ERRORS);
      const last = await p.next('error');
      expect(last.data.code).toBe('VALIDATION_FAILED');
      const closed = await closedWithin(p, 5000, `${kind} after ${MAX_PROTOCOL_ERRORS} protocol errors`);
      const errors = p.inbox.received.filter((m) => m.type === 'error');
      if (kind === 'websocket') {
        expect(closed.code).toBe(1008);
        expect(closed.reason).toMatch(/^PROTOCOL_ERRORS: /);
        expect(errors).toHaveLength(MAX_PROTOCOL_ERRORS);
      } else {
        expect(closed.reason).toBe('io server disconnect');
        // The N answers, then the close notice.
        expect(errors).toHaveLength(MAX_PROTOCOL_ERRORS + 1);
        expect(errors.at(-1)!.data).toMatchObject({ code: 'PROTOCOL_ERRORS', request_type: null, id: null });
      }
      await poll('the offender is released', () => hub().stats().total_connections === before);
    });
  });

  it('Socket.IO: protocol errors answered through acknowledgements count too', async () => {
    const p = (await connect('socketio')) as IoProbe;
    for (let i = 0; i < MAX_PROTOCOL_ERRORS; i++) {
      const ack = await p.request('no_such_type', {});
      expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TYPE' } });
    }
    const closed = await closedWithin(p, 5000, 'socket.io after acknowledged protocol errors');
    expect(closed.reason).toBe('io server disconnect');
    expect(p.inbox.received.find((m) => m.type === 'error')?.data.code).toBe('PROTOCOL_ERRORS');
  });

  it('raw WebSocket: a flood of ping frames is rate limited and closed with a 1008 close frame', async () => {
    const p = (await connect('websocket')) as WsProbe;
    const before = hub().stats().total_connections;
    let pongs = 0;
    p.ws.on('pong', () => pongs++);
    for (let i = 0; i < 3000 && p.ws.readyState === WsProbe.Socket.OPEN; i++) p.ws.ping();
    const closed = await closedWithin(p, 5000, 'ping flooder');
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/rate limit/i);
    // Pongs only within the inbound limit (WS_RATE_LIMIT 20/s + WS_RATE_BURST 40).
    expect(pongs).toBeLessThanOrEqual(61);
    await poll('the flooder is released', () => hub().stats().total_connections === before - 1);
    // A few pings are fine.
    const q = (await connect('websocket')) as WsProbe;
    const pong = new Promise<void>((resolve) => q.ws.once('pong', () => resolve()));
    q.ws.ping();
    await Promise.race([pong, observeFor(5_000, 'a bound on the pong').then(() => Promise.reject(new Error('no pong to a single ping')))]);
  });
});
