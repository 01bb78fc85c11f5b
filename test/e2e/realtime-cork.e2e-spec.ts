import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionRegistry } from '../../src/realtime/hub/connection-registry';
import { OutboundFrame } from '../../src/realtime/hub/outbound-frame';
import { startTestApp, TestApp } from '../support/app';
import { openProbe, Probe } from '../support/realtime-probes';
import { observeFor } from '../support/poll';

/**
 * Corking on the real transports (the fan-out relies on it): while corked, frames
 * stay in the server's socket buffer; one uncork sends them all, in order.
 */
describe('realtime: corking the real sockets', () => {
  let t: TestApp;
  const probes: Probe[] = [];
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await Promise.all(probes.map((p) => p.close()));
    await t?.close();
  });

  it.each(['websocket', 'socketio'] as const)('%s: frames sent while corked leave together at uncork', async (kind) => {
    const p = await openProbe(kind, t);
    probes.push(p);
    const hello = await p.next('connection');
    const conn = [...t.app.get(ConnectionRegistry).all()].find((c) => c.id === hello.data.connection_id)!;
    expect(conn.kind).toBe(kind);

    expect(conn.cork()).toBe(true);
    const frames = [1, 2, 3].map((seq) => OutboundFrame.of('asset_update', { symbol: 'CORK', seq } as never, 'a:CORK'));
    for (const f of frames) conn.sendFrame(f);
    expect(conn.bufferedBytes()).toBeGreaterThan(0);
    await observeFor(100, 'nothing leaves a corked socket');
    expect(p.inbox.received.filter((m) => m.type === 'asset_update')).toEqual([]);

    conn.uncork();
    for (const seq of [1, 2, 3]) expect((await p.next('asset_update')).data).toEqual({ symbol: 'CORK', seq });
  });

  it('socketio: a corked burst reaches the WebSocket in one transport send, and a reply sent during it keeps its place', async () => {
    const p = await openProbe('socketio', t);
    probes.push(p);
    const hello = await p.next('connection');
    const conn = [...t.app.get(ConnectionRegistry).all()].find((c) => c.id === hello.data.connection_id)!;
    const transport = (conn as unknown as { socket: { conn: { transport: { send: (packets: unknown[]) => void } } } }).socket.conn.transport;
    const sends: number[] = [];
    const original = transport.send.bind(transport);
    transport.send = (packets) => {
      sends.push(packets.length);
      original(packets);
    };
    try {
      expect(conn.cork()).toBe(true);
      for (const seq of [1, 2, 3]) conn.sendFrame(OutboundFrame.of('asset_update', { symbol: 'BURST', seq } as never, 'a:BURST'));
      expect(sends).toEqual([]); // held for the burst
      conn.sendMessage({ type: 'pong', data: { server_time: 'x' }, timestamp: 'x' } as never);
      for (const seq of [4, 5]) conn.sendFrame(OutboundFrame.of('asset_update', { symbol: 'BURST', seq } as never, 'a:BURST'));
      conn.uncork();
      await p.next('asset_update', (m) => m.data.seq === 5);
      const seen = p.inbox.received.filter((m) => m.type === 'pong' || m.data?.symbol === 'BURST').map((m) => (m.type === 'pong' ? 'pong' : `u${m.data.seq}`));
      expect(seen).toEqual(['u1', 'u2', 'u3', 'pong', 'u4', 'u5']);
      // The reply released the three held updates in one send; it and the last two followed in one more
      // (Engine.IO waits for the first write's callback, which comes after the uncork).
      expect(sends).toEqual([3, 3]);
    } finally {
      transport.send = original;
    }
  });
});
