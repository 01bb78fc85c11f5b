import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app';
import { poll } from '../support/poll';
import { loginAs } from '../support/realtime-fixtures';
import { IoProbe, type Probe, WsProbe } from '../support/realtime-probes';

/**
 * The guide's health view, GET /realtime/health/ (`@login_required`):
 * `{price_feed_running, active_connections, timestamp}` for a logged-in user.
 */

async function health(t: TestApp, path: string, cookie?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}${path}`, { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.json() };
}

describe('GET /realtime/health/ (the guide shape)', () => {
  let t: TestApp;
  let cookie: string;
  const open: Probe[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    cookie = (await loginAs(t, 'health-viewer')).cookie;
  });
  afterEach(async () => {
    for (const p of open.splice(0)) await p.close();
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each(['/realtime/health/', '/realtime/health'])('GET %s refuses an anonymous caller with 401 in the API error shape', async (path) => {
    const res = await health(t, path);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'UNAUTHORIZED', message: 'Authentication required' });
    // A stale or forged cookie is anonymous too.
    expect((await health(t, path, 'rm.sid=s%3Anot-a-session.bad')).status).toBe(401);
  });

  it.each(['/realtime/health/', '/realtime/health'])('GET %s answers a logged-in user with exactly the guide fields', async (path) => {
    const res = await health(t, path, cookie);
    expect(res.status).toBe(200);
    // Tests run with PRICE_FEED_MODE=off: no feed runs.
    expect(res.body).toEqual({ price_feed_running: false, active_connections: 0, timestamp: expect.any(String) });
    expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false);
  });

  it('active_connections counts the open sockets of both transports, logged in or not', async () => {
    const a = await WsProbe.open(t.wsUrl, { origin: t.url, cookie });
    const b = await WsProbe.open(t.wsUrl);
    const c = await IoProbe.open(t.url);
    open.push(a, b, c);
    for (const p of open) await p.next('connection');
    const three = await poll('three connections counted', async () => {
      const r = await health(t, '/realtime/health/', cookie);
      return r.body.active_connections === 3 && r;
    });
    expect(three.status).toBe(200);
    await b.close();
    await poll('two once one closed', async () => (await health(t, '/realtime/health/', cookie)).body.active_connections === 2);
    await c.close();
    await a.close();
    await poll('none once all closed', async () => (await health(t, '/realtime/health/', cookie)).body.active_connections === 0);
  });
});

describe('GET /realtime/health/ across API instances (Redis)', { timeout: 60_000 }, () => {
  const env = { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: `rmtest-rthealth-${randomBytes(4).toString('hex')}:`, CLUSTER_INSTANCE_TTL: '3' };
  let a: TestApp;
  let b: TestApp;
  const open: Probe[] = [];

  beforeAll(async () => {
    a = await startTestApp(env);
    b = await startTestApp(env, { databaseUrl: a.databaseUrl });
  });
  afterAll(async () => {
    for (const p of open.splice(0)) await p.close();
    await b?.stop();
    await a?.close();
  });

  it("counts the sockets of every instance: connections on B show in A's view", async () => {
    const user = await loginAs(a, 'cluster-health');
    open.push(await WsProbe.open(b.wsUrl), await WsProbe.open(b.wsUrl), await WsProbe.open(a.wsUrl));
    for (const p of open) await p.next('connection');
    for (const t of [a, b]) {
      await poll(
        `3 connections seen from ${t === a ? 'A' : 'B'}`,
        async () => (await health(t, '/realtime/health/', user.cookie)).body.active_connections === 3,
      );
    }
  });
});
