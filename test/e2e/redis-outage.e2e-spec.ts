import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BusSigner } from '../../src/bus/bus-signer';
import { MessageBus } from '../../src/bus/message-bus';
import { RedisLinkState } from '../../src/bus/redis-link';
import { freePort } from '../../src/database/embedded-postgres';
import { PriceFeedScheduler } from '../../src/price-feed/feed/price-feed.scheduler';
import { PriceFeedProcessModule } from '../../src/price-feed/price-feed-process.module';
import { startTestApp, TEST_BUS_SECRET, type TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { publishTicks, tick } from '../support/realtime-fixtures';
import { WsProbe } from '../support/realtime-probes';
import { startRedisServer, type PrivateRedis } from '../support/redis-server';
import { poll } from '../support/poll';

/**
 * Redis going away and coming back under a running API (a private redis-server,
 * never the machine's): one warning for the lost link, none per retry, one line when
 * it is back, /health following the link, and the subscriptions restored so a client
 * connected all along receives prices published by another process again.
 */

/** Every line the process writes to stdout/stderr (Nest's ConsoleLogger writes there), from install() to restore(). */
class OutputCapture {
  readonly lines: string[] = [];
  private restoreFns: (() => void)[] = [];

  install(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      const lines = this.lines;
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        const text =
          typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
        for (const l of text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) if (l.trim()) lines.push(l);
        return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      this.restoreFns.push(() => {
        stream.write = original;
      });
    }
  }

  restore(): void {
    for (const f of this.restoreFns.splice(0)) f();
  }

  /** Lines since index `from` matching `re`. */
  match(re: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((l) => re.test(l));
  }
}

/** A fixed observation window (not synchronisation): how long we watch the log for lines that must not appear. */
const observe = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function health(t: TestApp): Promise<{ code: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.url}/health`, { signal: AbortSignal.timeout(5_000) });
  return { code: res.status, body: (await res.json()) as Record<string, unknown> };
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** What the old code logged for every ioredis retry, and any other trace of ioredis errors reaching the log. */
const PER_RETRY = /ECONNREFUSED|Redis (pub|sub):|PriceFeedRedis|ioredis|Unhandled error event|MaxRetriesPerRequest/;
const STACK_LINE = /^\s+at\s/;

describe('Redis outage under a running API', { timeout: 90_000 }, () => {
  const out = new OutputCapture();
  let redis: PrivateRedis;
  let t: TestApp;
  let publisher: Redis | undefined;
  const prefix = `rmtest-outage-${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    redis = await startRedisServer();
    out.install();
    t = await startTestApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, PRICE_FEED_MODE: 'off', LOG_LEVEL: 'log', LOG_FORMAT: 'text' });
    await t.app.get(MessageBus).ready();
  });
  afterAll(async () => {
    publisher?.disconnect();
    try {
      await t?.close();
    } finally {
      out.restore();
      await redis?.close();
    }
  });

  /** Publishes `prices.committed` the way another process (the feed, another instance) does: straight on the Redis channel. */
  const publishFromElsewhere = async (symbol: string, price: string) => {
    if (!publisher) {
      publisher = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 100, 1000) });
      publisher.on('error', () => undefined);
    }
    const body = JSON.stringify({ ticks: [tick(symbol, price)], published_at: Date.now(), origin: 'elsewhere' });
    return publisher.publish(`${prefix}prices.committed`, new BusSigner(TEST_BUS_SECRET).seal('prices.committed', body));
  };

  it('loses the link with one warning, reports it in /health, gets it back with one line, and the same client receives prices again', async () => {
    const target = esc(`127.0.0.1:${redis.port}`);
    const LOST = new RegExp(`Redis link to ${target} lost`);
    const BACK = new RegExp(`Redis link to ${target} is back`);

    // Before: Redis up, /health says so, a client subscribed to AAPL gets prices from another process.
    const before = await poll('/health redis up', async () => {
      const h = await health(t);
      return h.body.redis === 'up' && h;
    });
    expect(before.code).toBe(200);
    expect(before.body).toMatchObject({ status: 'ok', bus: 'redis', redis: 'up' });
    expect(typeof before.body.timestamp).toBe('string');

    const client = await WsProbe.open(t.wsUrl);
    try {
      await client.next('connection');
      client.send('subscribe_asset', { symbol: 'AAPL' });
      await client.next('subscribed');
      await client.next('asset_update'); // the snapshot
      expect(await publishFromElsewhere('AAPL', '201.01')).toBeGreaterThanOrEqual(1);
      expect((await client.next('asset_update', (m) => m.data.price === 201.01)).data.symbol).toBe('AAPL');

      // Redis goes away.
      const mark = out.lines.length;
      publisher?.disconnect();
      publisher = undefined;
      await redis.stop();
      const down = await poll('/health redis down', async () => {
        const h = await health(t);
        return h.body.redis === 'down' && h;
      });
      expect(down.code).toBe(200);
      expect(down.body).toMatchObject({ status: 'degraded', bus: 'redis', redis: 'down' });
      await poll('the lost-link warning', () => out.match(LOST, mark).length > 0, 5_000, 25);

      // This process's own prices still reach its clients while Redis is away.
      await publishTicks(t, [tick('AAPL', '202.02')]);
      expect((await client.next('asset_update', (m) => m.data.price === 202.02)).data.symbol).toBe('AAPL');

      // ioredis retries (100, 200, 400, 800, 1600 ms, ...) for 3 s: nothing more is logged.
      await observe(3_000);
      const lost = out.match(LOST, mark);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatch(/WARN/);
      expect(lost[0]).toMatch(/prices and portfolio changes from other processes stop arriving until it is back/);
      expect(out.match(/Redis|ECONNREFUSED|ioredis/i, mark)).toEqual(lost);
      expect(out.match(STACK_LINE, mark)).toEqual([]);
      expect((await health(t)).body.redis).toBe('down');

      // Redis comes back (empty: it keeps nothing), on the same port.
      const restartMark = out.lines.length;
      await redis.start();
      const up = await poll('/health redis up again', async () => {
        const h = await health(t);
        return h.body.redis === 'up' && h;
      });
      expect(up.code).toBe(200);
      expect(up.body).toMatchObject({ status: 'ok', bus: 'redis', redis: 'up' });

      // The subscription was restored: prices published by another process after the restart reach the same client.
      expect(await publishFromElsewhere('AAPL', '203.03')).toBeGreaterThanOrEqual(1);
      expect((await client.next('asset_update', (m) => m.data.price === 203.03, 5_000)).data.symbol).toBe('AAPL');
      // And this process's own prices travel through Redis again.
      await publishTicks(t, [tick('AAPL', '204.04')]);
      expect((await client.next('asset_update', (m) => m.data.price === 204.04, 5_000)).data.symbol).toBe('AAPL');

      const back = out.match(BACK, restartMark);
      expect(back).toHaveLength(1);
      expect(back[0]).not.toMatch(/WARN|ERROR/);
      // Over the whole outage: exactly the two lines, no per-retry line, no stack trace.
      expect(out.match(/Redis|ECONNREFUSED|ioredis/i, mark)).toEqual([...lost, ...back]);
      expect(out.match(PER_RETRY, mark)).toEqual([]);
      expect(out.match(STACK_LINE, mark)).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('start-up with Redis unreachable', { timeout: 90_000 }, () => {
  it('the API starts in bounded time, warns once, /health says redis down; when Redis appears it connects and subscribes', async () => {
    const out = new OutputCapture();
    const redis = await startRedisServer();
    await redis.stop(); // its port is known and nothing listens there
    const target = esc(`127.0.0.1:${redis.port}`);
    const prefix = `rmtest-late-${randomBytes(6).toString('hex')}:`;
    out.install();
    let t: TestApp | undefined;
    let client: WsProbe | undefined;
    let publisher: Redis | undefined;
    try {
      const started = Date.now();
      t = await startTestApp({ REDIS_URL: redis.url, REDIS_PREFIX: prefix, PRICE_FEED_MODE: 'off', LOG_LEVEL: 'log', LOG_FORMAT: 'text' });
      expect(Date.now() - started).toBeLessThan(30_000);
      const h = await health(t);
      expect(h.code).toBe(200);
      expect(h.body).toMatchObject({ status: 'degraded', bus: 'redis', redis: 'down' });
      // Waiting for the bus is bounded too.
      await expect(t.app.get(MessageBus).ready(300)).rejects.toThrow(/not active after 300 ms/);

      const WARN = new RegExp(`Redis link to ${target} could not be established at start-up`);
      await poll('the start-up warning', () => out.match(WARN).length > 0, 5_000, 25);
      await observe(2_000); // retries go on: still one line
      const warned = out.match(WARN);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/WARN/);
      expect(out.match(new RegExp(target))).toEqual(warned);
      expect(out.match(PER_RETRY).filter((l) => !WARN.test(l))).toEqual([]);
      expect(out.match(STACK_LINE)).toEqual([]);

      // A client connects meanwhile; then Redis appears.
      client = await WsProbe.open(t.wsUrl);
      await client.next('connection');
      client.send('subscribe_asset', { symbol: 'MSFT' });
      await client.next('subscribed');
      await client.next('asset_update'); // the snapshot (from the database)
      await redis.start();
      await poll('/health redis up', async () => (await health(t!)).body.redis === 'up');
      await t.app.get(MessageBus).ready(5_000);
      const BACK = new RegExp(`Redis link to ${target} is back`);
      expect(out.match(BACK)).toHaveLength(1);

      // The subscriptions queued at start-up are active: prices from another process reach the client.
      publisher = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      publisher.on('error', () => undefined);
      const body = JSON.stringify({ ticks: [tick('MSFT', '512.34')], published_at: Date.now(), origin: 'elsewhere' });
      await publisher.publish(`${prefix}prices.committed`, new BusSigner(TEST_BUS_SECRET).seal('prices.committed', body));
      expect((await client.next('asset_update', (m) => m.data.price === 512.34, 5_000)).data.symbol).toBe('MSFT');
      expect(out.match(new RegExp(target))).toEqual([...warned, ...out.match(BACK)]);
    } finally {
      publisher?.disconnect();
      await client?.close();
      const closing = Date.now();
      await t?.close();
      out.restore();
      await redis.close();
      expect(Date.now() - closing).toBeLessThan(15_000);
    }
  });

  it('the price-feed process starts in bounded time and warns once (host:port, never the password)', async () => {
    // The feed process's root module, as src/price-feed.main.ts builds it (in-process here: no build needed).
    const db = await createTestDatabase('rmfeeddead');
    const port = await freePort();
    const target = esc(`127.0.0.1:${port}`);
    const dataDir = mkdtempSync(join(tmpdir(), 'rm-feed-'));
    const env: Record<string, string> = {
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      DATABASE_URL: db.url,
      REDIS_URL: `redis://feed:s3cret-pw@127.0.0.1:${port}`,
      REDIS_PREFIX: 'rmtest-dead-feed:',
      REALTIME_UPDATE_INTERVAL: '60',
      PRICE_BACKFILL_DAYS: '0',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'text',
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const out = new OutputCapture();
    out.install();
    let app: INestApplicationContext | undefined;
    try {
      const started = Date.now();
      app = await NestFactory.createApplicationContext(PriceFeedProcessModule, {
        logger: new ConsoleLogger({ logLevels: ['fatal', 'error', 'warn', 'log'], colors: false }),
      });
      await app.init();
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(app.get(PriceFeedScheduler).enabled).toBe(true);
      expect(app.get(RedisLinkState).status()).toBe('down');

      const WARN = new RegExp(`Redis link to ${target} could not be established at start-up`);
      await poll('the start-up warning', () => out.match(WARN).length > 0, 5_000, 25);
      await observe(2_000);
      expect(out.match(WARN)).toHaveLength(1);
      expect(out.match(/s3cret-pw/)).toEqual([]);
      expect(out.match(PER_RETRY).filter((l) => !WARN.test(l))).toEqual([]);
      expect(out.match(STACK_LINE)).toEqual([]);
    } finally {
      const closing = Date.now();
      await app?.get(PriceFeedScheduler).stop();
      await app?.close();
      out.restore();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
      expect(Date.now() - closing).toBeLessThan(15_000);
    }
  });
});
