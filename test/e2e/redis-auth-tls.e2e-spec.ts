import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusSigner } from '../../src/bus/bus-signer';
import { MessageBus } from '../../src/bus/message-bus';
import { freePort } from '../../src/database/embedded-postgres';
import { startTestApp, TEST_BUS_SECRET, type TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { API_MAIN, NodeProcess, requireBuild } from '../support/node-process';
import { OutputCapture, observe, STACK_LINE } from '../support/output-capture';
import { poll } from '../support/poll';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { WsProbe } from '../support/realtime-probes';
import { startRedisServer, type PrivateRedis } from '../support/redis-server';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function health(t: TestApp): Promise<Record<string, unknown>> {
  const res = await fetch(`${t.url}/health`, { signal: AbortSignal.timeout(5_000) });
  return (await res.json()) as Record<string, unknown>;
}

async function watch(t: TestApp, symbol: string): Promise<WsProbe> {
  const ws = await WsProbe.open(t.wsUrl);
  await ws.next('connection');
  ws.send('subscribe_asset', { symbol });
  await ws.next('subscribed');
  await ws.next('asset_update'); // the snapshot
  return ws;
}

/** Publishes a signed 'prices.committed' from "another process": a raw ioredis client. */
async function publishFromElsewhere(url: string, prefix: string, symbol: string, price: string, opts: RedisOptions = {}): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, ...opts });
  r.on('error', () => undefined);
  try {
    const body = JSON.stringify({ ticks: [tick(symbol, price)], published_at: Date.now(), origin: 'elsewhere' });
    return await r.publish(`${prefix}prices.committed`, new BusSigner(TEST_BUS_SECRET).seal('prices.committed', body));
  } finally {
    r.disconnect();
  }
}

/** What the link warning must never contain, and what per-retry or per-topic noise looks like. */
const NOISE = /ECONNREFUSED|ioredis|Unhandled error event|MaxRetriesPerRequest|SUBSCRIBE|Handler for/;

describe('Redis with a password (redis://:password@host:port)', { timeout: 90_000 }, () => {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const prefix = `rmtest-auth-${randomBytes(6).toString('hex')}:`;
  let redis: PrivateRedis;
  const out = new OutputCapture();

  beforeAll(async () => {
    redis = await startRedisServer({ password });
    out.install();
  });
  afterAll(async () => {
    out.restore();
    await redis?.close();
  });

  it('works end to end with the password in REDIS_URL', async () => {
    expect(redis.url).toBe(`redis://:${password}@127.0.0.1:${redis.port}`);
    // The server really requires it.
    const anonymous = new Redis(`redis://127.0.0.1:${redis.port}`, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableReadyCheck: false,
    });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
    const t = await startTestApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix });
    try {
      await t.app.get(MessageBus).ready(10_000);
      await poll('/health redis up', async () => (await health(t)).redis === 'up');
      const ws = await watch(t, 'AAPL');
      try {
        await publishTicks(t, [tick('AAPL', '211.11')]);
        await ws.next('asset_update', (m) => m.data.price === 211.11);
        expect(await publishFromElsewhere(redis.url, prefix, 'AAPL', '212.12')).toBe(1);
        await ws.next('asset_update', (m) => m.data.price === 212.12);
      } finally {
        await ws.close();
      }
    } finally {
      await t.close();
    }
  });

  it('a wrong password: one clear line (never the password), no crash, the API keeps serving its own clients', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const mark = out.lines.length;
    const started = Date.now();
    const t = await startTestApp({ REDIS_URL: `redis://:${wrong}@127.0.0.1:${redis.port}`, REDIS_PREFIX: prefix });
    try {
      expect(Date.now() - started).toBeLessThan(30_000);
      const target = esc(`127.0.0.1:${redis.port}`);
      const LINE = new RegExp(
        `Redis link to ${target} could not be established at start-up \\(WRONGPASS invalid username-password pair or user is disabled; check the user name and password in REDIS_URL`,
      );
      await poll('the link warning', () => out.match(LINE, mark).length > 0, 10_000, 25);
      expect(await health(t)).toMatchObject({ status: 'degraded', redis: 'down', bus: 'redis' });
      await expect(t.app.get(MessageBus).ready(300)).rejects.toThrow(/not active after 300 ms/);

      // ioredis keeps retrying (every 2 s at most): still one line, nothing per retry or per topic.
      await observe(3_000);
      expect(out.match(new RegExp(target), mark)).toEqual(out.match(LINE, mark));
      expect(out.match(LINE, mark)).toHaveLength(1);
      expect(out.match(LINE, mark)[0]).toMatch(/WARN/);
      expect(out.match(NOISE, mark)).toEqual([]);
      expect(out.match(STACK_LINE, mark)).toEqual([]);
      expect(out.lines.slice(mark).filter((l) => l.includes(wrong))).toEqual([]);

      // Still serving: REST, and its own prices to its own clients.
      expect((await fetch(`${t.url}/api/assets/AAPL`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
      const ws = await watch(t, 'AAPL');
      try {
        await publishTicks(t, [tick('AAPL', '213.13')]);
        await ws.next('asset_update', (m) => m.data.price === 213.13);
      } finally {
        await ws.close();
      }
    } finally {
      await t.close();
    }
  });
});

/** Debian's redis-server is built with TLS (--tls-port): a private CA and server certificate made by openssl here. */
describe('Redis over TLS (rediss://) with a private CA (REDIS_TLS_CA_FILE)', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-redis-tls-'));
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const prefix = `rmtest-tls-${randomBytes(6).toString('hex')}:`;
  const ca = join(dir, 'ca.pem');
  let redis: PrivateRedis;
  let tlsPort: number;
  let tlsUrl: string;
  const out = new OutputCapture();

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=realtime-markets test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'san.cnf',
    );
    tlsPort = await freePort();
    redis = await startRedisServer({
      password,
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(dir, 'server.pem'),
        '--tls-key-file',
        join(dir, 'server.key'),
        '--tls-ca-cert-file',
        ca,
        '--tls-auth-clients',
        'no',
      ],
    });
    tlsUrl = `rediss://:${password}@127.0.0.1:${tlsPort}`;
    out.install();
  });
  afterAll(async () => {
    out.restore();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rediss:// with REDIS_TLS_CA_FILE: every client of the API connects over TLS, prices flow both ways', async () => {
    const t = await startTestApp({ REDIS_URL: tlsUrl, REDIS_PREFIX: prefix, REDIS_TLS_CA_FILE: ca });
    try {
      await t.app.get(MessageBus).ready(10_000);
      await poll('/health redis up', async () => (await health(t)).redis === 'up');
      // The API's connections are TLS ones: the server counts them on its TLS port.
      const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      try {
        const list = String(await admin.client('LIST'));
        const names = [...list.matchAll(/laddr=127\.0\.0\.1:(\d+) .*?name=(rm-\S+)/g)].map((m) => `${m[2]}@${m[1]}`);
        expect(names).toEqual(expect.arrayContaining([`rm-pub@${tlsPort}`, `rm-sub@${tlsPort}`]));
        expect(names.filter((n) => !n.endsWith(`@${tlsPort}`))).toEqual([]);
      } finally {
        admin.disconnect();
      }
      const ws = await watch(t, 'MSFT');
      try {
        await publishTicks(t, [tick('MSFT', '421.21')]);
        await ws.next('asset_update', (m) => m.data.price === 421.21);
        expect(await publishFromElsewhere(tlsUrl, prefix, 'MSFT', '422.22', { tls: { ca: [readFileSync(ca, 'utf8')] } })).toBe(1);
        await ws.next('asset_update', (m) => m.data.price === 422.22);
      } finally {
        await ws.close();
      }
    } finally {
      await t.close();
    }
  });

  it('rediss:// without the private CA: one line naming the certificate problem, and the API keeps serving', async () => {
    const mark = out.lines.length;
    const t = await startTestApp({ REDIS_URL: tlsUrl, REDIS_PREFIX: prefix });
    try {
      const target = esc(`127.0.0.1:${tlsPort}`);
      const LINE = new RegExp(
        `Redis link to ${target} could not be established at start-up \\([^)]*certificate[^;]*; check the TLS setup: .*REDIS_TLS_CA_FILE`,
      );
      await poll('the link warning', () => out.match(LINE, mark).length > 0, 10_000, 25);
      await observe(2_500);
      expect(out.match(new RegExp(target), mark)).toHaveLength(1);
      expect(out.match(NOISE, mark)).toEqual([]);
      expect(out.match(STACK_LINE, mark)).toEqual([]);
      expect(out.lines.slice(mark).filter((l) => l.includes(password))).toEqual([]);
      expect(await health(t)).toMatchObject({ status: 'degraded', redis: 'down' });
      expect((await fetch(`${t.url}/api/assets/MSFT`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('an unreadable REDIS_TLS_CA_FILE stops the start with one paragraph (the built API, exit 1)', async () => {
    requireBuild();
    const db = await createTestDatabase('rmtlsboot');
    const dataDir = mkdtempSync(join(tmpdir(), 'rm-tls-boot-'));
    const missing = join(dir, 'no-such-ca.pem');
    try {
      const p = new NodeProcess(API_MAIN, {
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        REDIS_URL: tlsUrl,
        REDIS_TLS_CA_FILE: missing,
        BUS_SECRET: TEST_BUS_SECRET,
        PRICE_FEED_MODE: 'off',
        LOG_LEVEL: 'warn',
      });
      const exit = await p.exit(60_000);
      expect(exit.code).toBe(1);
      const text = p.output.replace(/\s+/g, ' ');
      expect(text).toContain(`REDIS_TLS_CA_FILE="${missing}" cannot be read (ENOENT`);
      expect(p.lines.filter((l) => STACK_LINE.test(l))).toEqual([]);
      expect(p.output).not.toContain(password);
    } finally {
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
