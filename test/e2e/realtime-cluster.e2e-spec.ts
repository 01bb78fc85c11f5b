import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClusterPresence } from '../../src/realtime/cluster/cluster-presence';
import { startTestApp, type TestApp } from '../support/app';
import { OutputCapture } from '../support/output-capture';
import { poll } from '../support/poll';
import { loginAs, logout } from '../support/realtime-fixtures';
import { IoProbe, type Probe, WsProbe } from '../support/realtime-probes';
import { startRedisServer, type PrivateRedis } from '../support/redis-server';

const REDIS_URL = inject('redisUrl');

async function status(t: TestApp, cookie?: string): Promise<any> {
  const res = await fetch(`${t.url}/realtime/status/`, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(5_000) });
  expect(res.status).toBe(200);
  return res.json();
}

/** A sixth connection on `t` is refused the documented way of its transport; resolves with what the client saw. */
async function expectRefused(kind: 'websocket' | 'socketio', t: TestApp, cookie: string): Promise<void> {
  if (kind === 'websocket') {
    const ws = await WsProbe.open(t.wsUrl, { origin: t.url, cookie });
    const closed = await ws.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toMatch(/^CONNECTION_LIMIT: at most 3 connections per user/);
    expect(ws.inbox.received).toEqual([]);
  } else {
    const err = await IoProbe.open(t.url, { origin: t.url, cookie }).then(
      (p) => {
        void p.close();
        return expect.fail('the connection over the limit was accepted');
      },
      (e: Error & { data?: unknown }) => e,
    );
    expect(err.data).toMatchObject({ code: 'CONNECTION_LIMIT', message: 'At most 3 connections per user' });
  }
}

async function connect(kind: 'websocket' | 'socketio', t: TestApp, cookie: string): Promise<Probe> {
  const p = kind === 'websocket' ? await WsProbe.open(t.wsUrl, { origin: t.url, cookie }) : await IoProbe.open(t.url, { origin: t.url, cookie });
  await p.next('connection');
  return p;
}

/**
 * Two API instances on one database and one Redis: MAX_CONNECTIONS_PER_USER holds across
 * them (on both transports, whichever instance the extra connection reaches) and
 * /realtime/status/ describes both. A dead instance's connections stop counting after
 * CLUSTER_INSTANCE_TTL (3 s here).
 */
describe('several API instances as one service (Redis)', { timeout: 120_000 }, () => {
  const prefix = `rmtest-cluster-${randomBytes(6).toString('hex')}:`;
  const env = { REDIS_URL, REDIS_PREFIX: prefix, MAX_CONNECTIONS_PER_USER: '3', CLUSTER_INSTANCE_TTL: '3' };
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  const open: Probe[] = [];

  beforeAll(async () => {
    a = await startTestApp(env);
    b = await startTestApp(env, { databaseUrl: a.databaseUrl });
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    // Both instances have announced themselves.
    await poll('both instances in the instances set', async () => (await redis.smembers(`${prefix}instances`)).length === 2);
  });
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });
  afterAll(async () => {
    redis?.disconnect();
    await b?.stop();
    await a?.close();
  });

  it.each(['websocket', 'socketio'] as const)(
    '%s: the extra connection is refused on either instance; closing one frees a slot for the other',
    async (kind) => {
      const user = await loginAs(a, `cluster-limit-${kind}`);
      const other = kind === 'websocket' ? 'socketio' : 'websocket';
      open.push(await connect(kind, a, user.cookie), await connect(other, a, user.cookie));
      open.push(await connect(kind, b, user.cookie));
      // 2 on A + 1 on B = the limit: refused on B and on A, on both transports.
      await expectRefused(kind, b, user.cookie);
      await expectRefused(other, b, user.cookie);
      await expectRefused(kind, a, user.cookie);

      // One closes on A: B admits the next one (the release travels to Redis asynchronously).
      const first = open.shift()!;
      await first.close();
      const again = await poll('B to admit a connection after one on A closed', async () => {
        const p =
          kind === 'websocket'
            ? await WsProbe.open(b.wsUrl, { origin: b.url, cookie: user.cookie })
            : await IoProbe.open(b.url, { origin: b.url, cookie: user.cookie });
        const first = await Promise.race([p.next('connection').then(() => 'open' as const), p.closed.then(() => 'closed' as const)]);
        if (first === 'open') return p;
        return null;
      });
      open.push(again);
      await expectRefused(kind, a, user.cookie);
    },
  );

  it("a logout frees the user's slots on every instance (the connections stay, anonymous)", async () => {
    const user = await loginAs(a, 'cluster-logout');
    open.push(await connect('websocket', a, user.cookie), await connect('socketio', b, user.cookie), await connect('websocket', b, user.cookie));
    await expectRefused('websocket', a, user.cookie);
    await logout(a, user.cookie);
    const again = await loginAs(a, 'cluster-logout');
    // The three sockets are still open, now anonymous: the new session's user has all three slots again.
    await poll('slots freed after the logout reached both instances', async () => {
      const p = await WsProbe.open(b.wsUrl, { origin: b.url, cookie: again.cookie });
      const first = await Promise.race([p.next('connection').then(() => 'open' as const), p.closed.then(() => 'closed' as const)]);
      if (first === 'open') {
        open.push(p);
        return true;
      }
      return false;
    });
    open.push(await connect('socketio', a, again.cookie), await connect('websocket', a, again.cookie));
    await expectRefused('socketio', b, again.cookie);
  });

  it('/realtime/status/ describes the whole cluster, with a per-instance breakdown, from either instance', async () => {
    const user = await loginAs(a, 'cluster-stats');
    const onA = await connect('websocket', a, user.cookie);
    const onB1 = await connect('socketio', b, user.cookie);
    const onB2 = await connect('websocket', b, '');
    open.push(onA, onB1, onB2);
    onA.send('subscribe_asset', { symbols: ['AAPL', 'MSFT'] });
    await onA.next('subscribed');
    onB2.send('subscribe_asset', { symbols: ['AAPL', 'GOOGL'] });
    await onB2.next('subscribed');

    const idA = a.app.get(ClusterPresence).instanceId;
    const idB = b.app.get(ClusterPresence).instanceId;
    for (const [t, self] of [
      [a, idA],
      [b, idB],
    ] as const) {
      // The other instance's figures are as of its last heartbeat (every second here).
      const s = await poll('status to count both instances', async () => {
        const g = (await status(t)).global_stats;
        return g.total_connections === 3 && g.asset_subscriptions === 4 ? g : null;
      });
      expect(s).toMatchObject({
        scope: 'cluster',
        total_connections: 3,
        connections_by_transport: { websocket: 2, socketio: 1 },
        authenticated_users: 1, // one user, on both instances
        asset_subscriptions: 4,
        distinct_assets: 3,
        portfolio_subscriptions: 0,
        conflated_connections: 0,
      });
      const expected = [
        { id: idA, connections: 1, connections_by_transport: { websocket: 1, socketio: 0, sse: 0 }, authenticated_users: 1, self: self === idA },
        { id: idB, connections: 2, connections_by_transport: { websocket: 1, socketio: 1, sse: 0 }, authenticated_users: 1, self: self === idB },
      ].sort((x, y) => (x.id < y.id ? -1 : 1));
      expect(s.instances).toEqual(expected.map((e) => ({ ...e, last_seen: expect.any(String) })));
      for (const i of s.instances) expect(Date.now() - Date.parse(i.last_seen)).toBeLessThan(10_000);
    }
  });

  it('an instance that died (keys left behind, no heartbeat) stops counting after CLUSTER_INSTANCE_TTL; damaged keys are ignored', async () => {
    const user = await loginAs(a, 'cluster-dead');
    // What a SIGKILLed instance leaves: its stats key (expiring), its users hash holding the user's 3 connections.
    const dead = `dead-${randomBytes(3).toString('hex')}`;
    const deadStats = {
      id: dead,
      started_at: new Date().toISOString(),
      last_seen: new Date().toISOString(),
      connections: 3,
      connections_by_transport: { websocket: 3, socketio: 0 },
      authenticated_users: 1,
      asset_subscriptions: 0,
      portfolio_subscriptions: 0,
      conflated_connections: 0,
      distinct_assets: 0,
      distinct_portfolios: 0,
      assets: [],
      portfolios: [],
      topics_truncated: false,
    };
    // And a key that is not an instance's stats at all.
    const junk = `junk-${randomBytes(3).toString('hex')}`;
    await redis
      .multi()
      .set(`${prefix}instance:${dead}`, JSON.stringify(deadStats), 'PX', 3000)
      .hset(`${prefix}instance-users:${dead}`, String(user.userId), '3')
      .sadd(`${prefix}instances`, dead, junk)
      .set(`${prefix}instance:${junk}`, '{"id":"junk","connections":-5}', 'PX', 60_000)
      .exec();
    const diedAt = Date.now();

    // While its key lives, its 3 connections count: the user gets none anywhere.
    const s = (await status(b)).global_stats;
    expect(s.instances.map((i: { id: string }) => i.id)).toContain(dead);
    expect(s.instances.map((i: { id: string }) => i.id)).not.toContain(junk);
    expect(s.total_connections).toBeGreaterThanOrEqual(3);
    await expectRefused('websocket', a, user.cookie);
    await expectRefused('socketio', b, user.cookie);

    // Past the TTL the user is admitted again, and the dead instance is gone from the status and the set.
    const p = await poll(
      'the dead instance to stop counting',
      async () => {
        const probe = await WsProbe.open(a.wsUrl, { origin: a.url, cookie: user.cookie });
        const first = await Promise.race([probe.next('connection').then(() => 'open' as const), probe.closed.then(() => 'closed' as const)]);
        return first === 'open' ? probe : null;
      },
      15_000,
      200,
    );
    open.push(p);
    expect(Date.now() - diedAt).toBeLessThan(3000 + 5000);
    expect((await status(a)).global_stats.instances.map((i: { id: string }) => i.id)).not.toContain(dead);
    expect(await redis.sismember(`${prefix}instances`, dead)).toBe(0);
  });
});

/**
 * Redis stops answering: handshakes are admitted on each instance's own count (said once in the
 * log), the status page falls back to this instance (`scope: "instance"`); when Redis is back the
 * instance writes its true counts and the limit holds across instances again.
 */
describe('cluster limits while Redis is away', { timeout: 120_000 }, () => {
  const prefix = `rmtest-cluster-outage-${randomBytes(6).toString('hex')}:`;
  const out = new OutputCapture();
  let server: PrivateRedis;
  let a: TestApp;
  let b: TestApp;
  const open: Probe[] = [];

  beforeAll(async () => {
    out.install();
    server = await startRedisServer();
    const env = { REDIS_URL: server.url, REDIS_PREFIX: prefix, MAX_CONNECTIONS_PER_USER: '3', CLUSTER_INSTANCE_TTL: '3', LOG_LEVEL: 'log' };
    a = await startTestApp(env);
    b = await startTestApp(env, { databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    for (const p of open.splice(0)) await p.close();
    try {
      await b?.stop();
      await a?.close();
      await server?.close();
    } finally {
      out.restore();
    }
  });

  it('admits on the local count during the outage, then counts across instances again', async () => {
    const user = await loginAs(a, 'cluster-outage');
    open.push(await connect('websocket', a, user.cookie), await connect('websocket', a, user.cookie));
    await server.stop();
    // Redis away: B admits on its own count (it has none of the user's connections).
    open.push(await connect('socketio', b, user.cookie), await connect('websocket', b, user.cookie));
    expect((await status(b)).global_stats).toMatchObject({ scope: 'instance', total_connections: 2 });
    expect(out.match(/MAX_CONNECTIONS_PER_USER is enforced per instance/)).toHaveLength(1);
    // Still the per-instance limit.
    open.push(await connect('websocket', b, user.cookie));
    await expectRefused('websocket', b, user.cookie);

    // Redis comes back empty (it keeps nothing on disk): each instance writes its true counts again.
    await server.start();
    const check = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      await poll('both instances to have rewritten their counts', async () => {
        const [onA, onB] = await Promise.all(
          [a, b].map((t) => check.hget(`${prefix}instance-users:${t.app.get(ClusterPresence).instanceId}`, String(user.userId))),
        );
        return onA === '2' && onB === '3';
      });
    } finally {
      check.disconnect();
    }
    await poll('the status to be cluster-wide again', async () => {
      const g = (await status(a)).global_stats;
      return g.scope === 'cluster' && g.total_connections === 5;
    });
    // 5 open over a limit of 3: nothing more anywhere, on either transport.
    await expectRefused('socketio', a, user.cookie);
    await expectRefused('websocket', b, user.cookie);
    expect(out.match(/MAX_CONNECTIONS_PER_USER holds across instances again/)).toHaveLength(1);
  });
});
