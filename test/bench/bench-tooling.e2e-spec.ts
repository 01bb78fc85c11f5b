import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

/**
 * The bench's own tooling, for real over loopback: the reference servers (Redis-fed and bus-less), the
 * price sources (Redis, and the bus-less servers' in-process ticker), and the load generator's accounting. At a low rate every update must arrive exactly once, counted
 * against what the source says it published in the window.
 */
type Fanout = typeof import('../../bench/lib/fanout.mjs');
type Servers = typeof import('../../bench/lib/servers.mjs');

const redisUrl = inject('redisUrl');
const symbols = Array.from({ length: 20 }, (_, i) => `TB${String(i).padStart(2, '0')}`);

describe('bench tooling against the reference servers', () => {
  let f: Fanout;
  let sv: Servers;
  let gen: InstanceType<Fanout['LoadGenerator']>;
  let source: InstanceType<Fanout['Source']>;
  let tmp: string;
  const prefix = `bench-tooling-${process.pid}-${Date.now()}:`;

  beforeAll(async () => {
    f = await import('../../bench/lib/fanout.mjs');
    sv = await import('../../bench/lib/servers.mjs');
    tmp = mkdtempSync(join(tmpdir(), 'rm-bench-test-'));
    source = await f.Source.start({ redisUrl, prefix, symbols });
    gen = new f.LoadGenerator(2);
  });
  afterAll(async () => {
    await gen?.close();
    await source?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  for (const [transport, name, path] of [
    ['ws', 'ws-server', '/ws/realtime/'],
    ['sio', 'socketio-server', '/socket.io/?EIO=4&transport=websocket'],
  ] as const) {
    it(`${transport}: connects, subscribes and counts every delivery exactly`, async () => {
      const ctx = { root: resolve('.'), tmpDir: tmp, logDir: tmp, redisUrl, prefix };
      const script = transport === 'ws' ? sv.REFERENCE_WS : sv.REFERENCE_SIO;
      const server = await sv.startReference(ctx, script, name);
      try {
        const setup = await gen.connect({ port: server.port, path, transport, clients: 40, perClient: 5, symbols });
        expect(setup).toMatchObject({ clients: 40, ready: 40, failed: 0 });
        // 40 clients x 5 symbols over 20 symbols = 10 subscribers per symbol
        expect(gen.subs).toEqual(new Array(20).fill(10));

        const step = await f.runStep({ gen, source, server, rate: 100, warmupMs: 300, windowMs: 1_000, drainMs: 5_000, settleMs: 5_000 });
        expect(step.expected).toBeGreaterThan(0);
        expect(step.expected % 10).toBe(0);
        expect(step.delivered).toBe(step.expected);
        expect(step.deliveredRatio).toBe(1);
        expect(step.p50).not.toBeNull();
        expect(step.p99).toBeGreaterThanOrEqual(step.p50 as number);
        expect(step.serverErrors).toBe(0);
        expect(step.openConnections).toBe(40);

        const mem = await server.memory();
        expect(mem.rss).toBeGreaterThan(mem.heapUsed);
      } finally {
        await gen.disconnect();
        await server.stop();
      }
    });
  }

  for (const [transport, name, path] of [
    ['ws', 'ws-busless-server', '/ws/realtime/'],
    ['sio', 'socketio-busless-server', '/socket.io/?EIO=4&transport=websocket'],
  ] as const) {
    it(`${transport}: the bus-less reference ticks in-process at the asked rate and every delivery is counted exactly`, async () => {
      const ctx = { root: resolve('.'), tmpDir: tmp, logDir: tmp, redisUrl, prefix };
      const script = transport === 'ws' ? sv.REFERENCE_WS_BUSLESS : sv.REFERENCE_SIO_BUSLESS;
      const server = await sv.startReference(ctx, script, name);
      try {
        const ticker = await f.InProcessSource.start(server, { symbols });
        const setup = await gen.connect({ port: server.port, path, transport, clients: 40, perClient: 5, symbols });
        expect(setup).toMatchObject({ clients: 40, ready: 40, failed: 0 });

        const step = await f.runStep({ gen, source: ticker, server, rate: 100, warmupMs: 300, windowMs: 1_000, drainMs: 5_000, settleMs: 5_000 });
        // 100 ticks/s over 20 symbols for 1 s, 10 subscribers per symbol
        expect(step.expected).toBeGreaterThanOrEqual(900);
        expect(step.expected).toBeLessThanOrEqual(1_100);
        expect(step.expected % 10).toBe(0);
        expect(step.delivered).toBe(step.expected);
        expect(step.p99).toBeGreaterThanOrEqual(step.p50 as number);
        expect(step.serverErrors).toBe(0);
        expect(step.sourceCpuPct).toBe(0); // the ticks cost the server's CPU

        await expect(server.call('source:nope', {}, 5_000)).rejects.toThrow(/unknown command/);
      } finally {
        await gen.disconnect();
        await server.stop();
      }
    });
  }

  it('excludes slow clients from the measurement and pauses them on stall', async () => {
    const ctx = { root: resolve('.'), tmpDir: tmp, logDir: tmp, redisUrl, prefix };
    const server = await sv.startReference(ctx, sv.REFERENCE_WS, 'ws-server-slow');
    try {
      const slow = (i: number) => i % 10 === 0;
      const setup = await gen.connect({
        port: server.port,
        path: '/ws/realtime/',
        transport: 'ws',
        clients: 20,
        perClient: 5,
        symbols,
        slow,
        slowPerClient: 20,
      });
      expect(setup.ready).toBe(20);
      // 18 measured clients x 5 symbols
      expect((gen.subs ?? []).reduce((a, b) => a + b, 0)).toBe(90);
      const stalled = await gen.stall();
      expect(stalled.reduce((a, s) => a + s.stalled, 0)).toBe(2);
      const step = await f.runStep({ gen, source, server, rate: 100, warmupMs: 300, windowMs: 1_000, drainMs: 5_000, settleMs: 5_000 });
      expect(step.delivered).toBe(step.expected);
    } finally {
      await gen.disconnect();
      await server.stop();
    }
  });
});
