import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';
import { launchBrowser } from '../browser/support/browser';
import { createTestDatabase } from '../support/database';
import { API_MAIN, FEED_MAIN, NodeProcess, requireBuild } from '../support/node-process';
import { poll } from '../support/poll';
import { IoProbe, WsProbe, type Probe } from '../support/realtime-probes';

/**
 * The shipped deployment, for real: Debian's nginx runs docker/nginx.conf (upstreams
 * pointed at this test's ports, listening on a port other than 80) in front of two API
 * instances and one price-feed process, on real PostgreSQL and Redis. Run by .ci/run
 * (npm run test:system; nginx installed there).
 */

const ROOT = resolve(__dirname, '..', '..');
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const SESSION_SECRET = 'system-test-session-secret-0123456789abcdefghij';
const BUS_SECRET = 'system-test-bus-secret-0123456789abcdefghijklmnop';
const MAX_PER_USER = 5;
/** Seconds after which a silent instance stops counting (CLUSTER_INSTANCE_TTL). */
const INSTANCE_TTL = 6;

/** docker/nginx.conf with the compose service names replaced by loopback ports, listening on `port`. */
function nginxConfig(dir: string, port: number, apiPorts: number[]): string {
  let site = readFileSync(join(ROOT, 'docker', 'nginx.conf'), 'utf8');
  expect(site).toMatch(/server api-1:8000/);
  site = site.replace(/server api-(\d):8000/g, (_m, n: string) => `server 127.0.0.1:${apiPorts[Number(n) - 1]}`);
  expect(site).toMatch(/listen 80;/);
  site = site.replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  mkdirSync(join(dir, 'conf.d'), { recursive: true });
  writeFileSync(join(dir, 'conf.d', 'default.conf'), site);
  const main = [
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'daemon off;',
    'events {}',
    'http {',
    `  access_log ${dir}/access.log;`,
    `  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;`,
    `  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
    `  include ${dir}/conf.d/*.conf;`,
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), main);
  return join(dir, 'nginx.conf');
}

async function loginCookie(base: string, username: string, password: string): Promise<string> {
  const r = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  expect(r.status).toBe(200);
  const cookie = r.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/^rm\.sid=/);
  return cookie.split(';')[0];
}

describe('docker/nginx.conf in front of two API instances and a feed process', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-nginx-cluster-'));
  const procs: NodeProcess[] = [];
  const probes: Probe[] = [];
  let nginx: ChildProcess | undefined;
  let browser: Browser | undefined;
  let nginxPort: number;
  let apiPorts: number[];
  let db: { url: string; drop: () => Promise<void> };
  let env: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    expect(NGINX, 'nginx must be installed (.ci/run installs it)').toBeTruthy();
    requireBuild();
    chmodSync(dir, 0o755); // nginx's workers run as an unprivileged user
    db = await createTestDatabase('rmnginx');
    nginxPort = await freePort();
    apiPorts = [await freePort(), await freePort()];
    base = `http://127.0.0.1:${nginxPort}`;
    env = {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `rmsys-${randomUUID()}:`,
      SESSION_SECRET,
      BUS_SECRET,
      TRUST_PROXY: '1',
      PRICE_FEED_MODE: 'external',
      SEED_DEMO: 'true',
      DEMO_PASSWORD: 'demo-password',
      MAX_CONNECTIONS_PER_USER: String(MAX_PER_USER),
      CLUSTER_INSTANCE_TTL: String(INSTANCE_TTL),
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
    };
    // The first instance migrates and seeds; the second joins the same database.
    for (const port of apiPorts) {
      const api = new NodeProcess(API_MAIN, { ...env, PORT: String(port), LOG_LEVEL: 'log' });
      procs.push(api);
      await api.waitFor(/Serving on http/, 90_000);
    }
    const feed = new NodeProcess(FEED_MAIN, { ...env, LOG_LEVEL: 'log' }, ['--interval', '1']);
    procs.push(feed);
    await feed.waitFor(/Holding the price-feed lock/, 60_000);
    nginx = spawn(NGINX!, ['-c', nginxConfig(dir, nginxPort, apiPorts), '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    await poll('nginx to answer', async () => (await fetch(`${base}/health`, { signal: AbortSignal.timeout(2_000) })).status === 200, 20_000, 100);
  });

  afterAll(async () => {
    await Promise.all(probes.map((p) => p.close()));
    await browser?.close();
    nginx?.kill('SIGTERM');
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exit(30_000).catch(() => undefined)));
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('advertises the socket URLs with the port the client used (Host forwarded with its port)', async () => {
    const info = (await (await fetch(`${base}/realtime/websocket-info/`)).json()) as Record<string, unknown>;
    expect(JSON.stringify(info)).toContain(`ws://127.0.0.1:${nginxPort}/ws/realtime/`);
  });

  it('both transports connect through nginx with a session cookie (the exact-origin check sees the port)', async () => {
    const cookie = await loginCookie(base, 'demo', 'demo-password');
    const origin = base;
    const ws = await WsProbe.open(`ws://127.0.0.1:${nginxPort}`, { cookie, origin });
    probes.push(ws);
    expect((await ws.next('connection')).data).toMatchObject({ authenticated: true });
    const io = await IoProbe.open(base, { cookie, origin });
    probes.push(io);
    expect((await io.next('connection')).data).toMatchObject({ authenticated: true });
    // The same page served on another port is another origin: refused.
    await expect(WsProbe.open(`ws://127.0.0.1:${nginxPort}`, { cookie, origin: `http://127.0.0.1:${nginxPort + 1}` })).rejects.toThrow(/403/);
    for (const p of [ws, io]) await p.close();
  });

  it('the dashboard in Chromium through nginx shows live prices and the demo portfolio', async () => {
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://localhost:${nginxPort}/realtime/dashboard/`);
    await poll('Live', async () => (await page.getByTestId('connection-label').textContent()) === 'Live', 30_000, 100);
    const price = page.locator('[data-testid="quote"] .price').first();
    const first = await poll('a price', async () => {
      const t = await price.textContent();
      return t && /\d/.test(t) ? t : undefined;
    });
    await poll('the price to move', async () => (await price.textContent()) !== first, 30_000, 200);
    await page.locator('#login-form input[name="username"]').fill('demo');
    await page.locator('#login-form input[name="password"]').fill('demo-password');
    await page.locator('#login-form button[type="submit"]').click();
    await poll('the user name', async () => (await page.getByTestId('user-name').textContent()) === 'demo');
    await poll('the demo portfolio in the picker', async () =>
      (await page.$$eval('[data-testid="portfolio-select"] option', (os) => os.map((o) => o.textContent))).includes('Demo Portfolio'),
    );
    await page.getByTestId('portfolio-select').selectOption({ label: 'Demo Portfolio' });
    const total = page.getByTestId('portfolio-total');
    const firstTotal = await poll('a total value', async () => {
      const t = await total.textContent();
      return t && /\d/.test(t) ? t : undefined;
    });
    await poll('the total to change', async () => (await total.textContent()) !== firstTotal, 30_000, 200);
    await page.close();
  });

  it('MAX_CONNECTIONS_PER_USER holds across the instances; global_stats counts both; a killed instance frees its slots', async () => {
    const cookie = await loginCookie(base, 'demo', 'demo-password');
    const direct = (i: number) => ({ http: `http://127.0.0.1:${apiPorts[i]}`, ws: `ws://127.0.0.1:${apiPorts[i]}` });
    const open = async (i: number, kind: 'websocket' | 'socketio') => {
      const p =
        kind === 'websocket'
          ? await WsProbe.open(direct(i).ws, { cookie, origin: direct(i).http })
          : await IoProbe.open(direct(i).http, { cookie, origin: direct(i).http });
      probes.push(p);
      await p.next('connection');
      return p;
    };
    // 3 on the first instance, 2 on the second: five in all.
    for (const kind of ['websocket', 'socketio', 'websocket'] as const) await open(0, kind);
    for (const kind of ['socketio', 'websocket'] as const) await open(1, kind);
    const stats = async (i: number) =>
      ((await (await fetch(`${direct(i).http}/realtime/status/`)).json()) as { global_stats: Record<string, unknown> }).global_stats;
    await poll('global_stats to count both instances', async () => {
      const g = await stats(0);
      return (g.instances as unknown[] | undefined)?.length === 2 && (g.total_connections as number) >= 5;
    });
    // The sixth, on either instance and either transport: refused.
    const sixthRaw = await WsProbe.open(direct(1).ws, { cookie, origin: direct(1).http });
    probes.push(sixthRaw);
    expect((await sixthRaw.closed).code).toBe(1008);
    await expect(IoProbe.open(direct(0).http, { cookie, origin: direct(0).http })).rejects.toMatchObject({ data: { code: 'CONNECTION_LIMIT' } });

    // The second instance dies without a word: its two slots come back within the documented bound.
    const second = procs[1];
    second.kill('SIGKILL');
    await second.exit(10_000);
    const killedAt = Date.now();
    await poll(
      'a slot freed by the dead instance',
      async () => {
        const p = await WsProbe.open(direct(0).ws, { cookie, origin: direct(0).http });
        probes.push(p);
        // Accepted: the connection message comes; refused: the limit closes it (1008) first.
        return Promise.race([p.next('connection', undefined, 2_000).then(() => true), p.closed.then(() => false)]);
      },
      30_000,
      500,
    );
    // Within CLUSTER_INSTANCE_TTL of its last heartbeat (plus one poll step and the handshake).
    expect(Date.now() - killedAt).toBeLessThan((INSTANCE_TTL + 3) * 1000);
    await poll('global_stats to forget the dead instance', async () => ((await stats(0)).instances as unknown[]).length === 1);
  });
});
