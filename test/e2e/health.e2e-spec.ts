import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, MIGRATIONS } from '../../src/database/data-source.options';
import { READY_DB_TIMEOUT_MS } from '../../src/health/readiness.service';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { PriceFeedScheduler } from '../../src/price-feed/feed/price-feed.scheduler';
import { createTestDatabase, sql } from '../support/database';
import { undoMigrationsThrough } from '../support/migrations';
import { startTestApp, TestApp } from '../support/app';
import { poll } from '../support/poll';
import { loginAs } from '../support/realtime-fixtures';
import { startRedisServer, type PrivateRedis } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * The probes: GET /health (liveness: the process answers, no database call) and
 * GET /health/ready (readiness: database, Redis, price feed), against real PostgreSQL
 * and Redis that the tests freeze, cut and stop.
 */

/** Scheduling noise on a shared machine, on top of the readiness query's own deadline. */
const SLACK_MS = 1_500;

interface Answer {
  status: number;
  body: any;
  ms: number;
  cacheControl: string | null;
}

/** GET path, bounded (a probe that hangs fails the test with the time it took). */
async function get(t: TestApp, path: string, timeoutMs = 10_000): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${t.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.json(), ms: Date.now() - started, cacheControl: res.headers.get('cache-control') };
}

const ready = (t: TestApp) => get(t, '/health/ready');

describe('service boot', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /health (liveness) with the process state, without REDIS_URL', async () => {
    const res = await get(t, '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', bus: 'memory', redis: 'not configured', uptime_s: expect.any(Number), timestamp: expect.any(String) });
    expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false);
    expect(res.cacheControl).toBe('no-store');
  });

  it.each(['/health/ready', '/health/ready/'])('answers %s 200 with every check (database up, no Redis, feed off)', async (path) => {
    const res = await get(t, path);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      checks: {
        database: { status: 'up', latency_ms: expect.any(Number) },
        redis: 'not configured',
        price_feed: { status: 'off', mode: 'off', source: null, last_run_at: null, age_s: null, max_age_s: null },
      },
      timestamp: expect.any(String),
    });
    expect(res.body.checks.database.latency_ms).toBeLessThan(READY_DB_TIMEOUT_MS);
    expect(res.cacheControl).toBe('no-store');
  });

  it('applied every migration to the empty database', async () => {
    const tables = await sql<{ table_name: string }>(
      t.databaseUrl,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['assets', 'migrations', 'portfolios', 'positions', 'price_history', 'session', 'users']),
    );
  });

  it('recorded every migration, and the last five revert and re-apply cleanly', async () => {
    const names = (await sql<{ name: string }>(t.databaseUrl, 'SELECT name FROM migrations ORDER BY id')).map((r) => r.name);
    expect(names).toEqual(MIGRATIONS.map((m) => m.name));
    const opts = async () =>
      (await sql<{ reloptions: string[] | null }>(t.databaseUrl, `SELECT reloptions FROM pg_class WHERE relname = 'assets'`))[0].reloptions;
    const hasIndex = async () => (await sql(t.databaseUrl, `SELECT 1 FROM pg_indexes WHERE indexname = 'idx_assets_last_updated'`)).length === 1;
    const historyFk = async () =>
      (await sql(t.databaseUrl, `SELECT 1 FROM pg_constraint WHERE conrelid = 'price_history'::regclass AND contype = 'f'`)).length === 1;
    const historyTriggers = async () =>
      (
        await sql<{ tgname: string }>(t.databaseUrl, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'assets'::regclass AND NOT tgisinternal ORDER BY tgname`)
      ).map((r) => r.tgname);
    const priceSeq = async () =>
      (await sql(t.databaseUrl, `SELECT 1 FROM information_schema.columns WHERE table_name = 'assets' AND column_name = 'price_seq'`)).length === 1;
    const transactionsTable = async () =>
      (await sql<{ r: string | null }>(t.databaseUrl, `SELECT to_regclass('public.transactions')::text AS r`))[0].r !== null;
    const intradayTable = async () =>
      (await sql<{ r: string | null }>(t.databaseUrl, `SELECT to_regclass('public.portfolio_value_points')::text AS r`))[0].r !== null;
    const positions = () =>
      sql(t.databaseUrl, `SELECT id, portfolio_id, asset_id, quantity::text, average_cost::text, created_at, updated_at FROM positions ORDER BY id`);
    // The seeded demo positions (written after the migrations ran, so without transactions until the migration runs again).
    const before = await positions();
    expect(before).toHaveLength(7);
    const applied = async () => {
      expect(await intradayTable()).toBe(true);
      expect(await transactionsTable()).toBe(true);
      expect(await priceSeq()).toBe(true);
      expect(await opts()).toEqual(['fillfactor=50']);
      expect(await hasIndex()).toBe(false);
      expect(await historyFk()).toBe(false);
      expect(await historyTriggers()).toEqual(['trg_assets_delete_history', 'trg_assets_truncate_history']);
    };
    await applied();
    const ds = await new DataSource({ ...buildDataSourceOptions(t.databaseUrl, 2), logging: false }).initialize();
    try {
      await undoMigrationsThrough(ds, 'PortfolioIntraday1764600000000'); // (any later migration first) PortfolioIntraday: the table is gone
      expect(await intradayTable()).toBe(false);
      expect(await transactionsTable()).toBe(true);
      await ds.undoLastMigration(); // Transactions: the table is gone, the positions stay
      expect(await transactionsTable()).toBe(false);
      expect(await positions()).toEqual(before);
      await ds.undoLastMigration(); // AssetsPriceSeq: the column is gone
      expect(await priceSeq()).toBe(false);
      await ds.undoLastMigration(); // PriceHistoryNoAssetFk: the foreign key is back, the triggers are gone
      expect(await historyFk()).toBe(true);
      expect(await historyTriggers()).toEqual([]);
      expect(await opts()).toEqual(['fillfactor=50']);
      await ds.undoLastMigration(); // AssetsHotUpdates
      expect(await opts()).toBeNull();
      expect(await hasIndex()).toBe(true);
      await ds.runMigrations();
      await applied();
      // Re-applied: one opening BUY per position, the positions as they were.
      const opening = await sql<{ position_id: number; quantity: string; price: string; date: string; note: string }>(
        t.databaseUrl,
        `SELECT pos.id AS position_id, tx.quantity::text, tx.price::text, to_char(tx.date, 'YYYY-MM-DD') AS date, tx.note
           FROM transactions tx JOIN positions pos ON pos.portfolio_id = tx.portfolio_id AND pos.asset_id = tx.asset_id ORDER BY tx.id`,
      );
      expect(opening).toEqual(
        (before as { id: number; quantity: string; average_cost: string; created_at: Date }[]).map((p) => ({
          position_id: p.id,
          quantity: p.quantity,
          price: p.average_cost,
          date: p.created_at.toISOString().slice(0, 10),
          note: 'Opening position (migrated)',
        })),
      );
      expect(await positions()).toEqual(before);
    } finally {
      await ds.destroy();
    }
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${t.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ statusCode: 404, error: 'NOT_FOUND' });
  });
});

describe('metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exposes Prometheus metrics including the price feed counters', async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE price_feed_batches_total counter$/m);
    expect(text).toMatch(/^# TYPE process_open_fds gauge$/m);
    // Left out: each scrape of these lists every socket's handle (O(connections) per scrape).
    expect(text).not.toMatch(/^# TYPE nodejs_active_(handles|resources)/m);
  });
});

describe('probes with PostgreSQL frozen or gone (a TCP proxy in front of it)', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let dropDb: () => Promise<void>;

  beforeAll(async () => {
    const admin = new URL(inject('pgAdminUrl'));
    // Loopback only: the proxy forwards to the run's own server on this machine.
    expect(['127.0.0.1', 'localhost', '[::1]']).toContain(admin.hostname);
    const db = await createTestDatabase('rmprobe');
    dropDb = db.drop;
    proxy = new TcpProxy(Number(admin.port || 5432));
    await proxy.listen();
    // The default DB_* timeouts (5 s): the readiness query's own deadline is what bounds the probe.
    t = await startTestApp({}, { databaseUrl: proxy.via(db.url) });
  });
  afterAll(async () => {
    proxy?.thaw();
    proxy?.restore();
    await t?.stop();
    await proxy?.close();
    await dropDb?.();
  });

  it('frozen: /health answers 200 at once, /health/ready 503 within its deadline (every probe), 200 once it thaws', async () => {
    expect((await ready(t)).status).toBe(200);
    proxy.freeze();
    try {
      const live = await get(t, '/health', 1_000);
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'ok', bus: 'memory' });
      expect(live.body.database).toBeUndefined();

      // Two probes: the second joins the query still waiting (no pile-up on the pool), bounded the same way.
      for (let i = 0; i < 2; i++) {
        const r = await ready(t);
        expect(r.ms).toBeLessThan(READY_DB_TIMEOUT_MS + SLACK_MS);
        expect(r.status).toBe(503);
        expect(r.cacheControl).toBe('no-store');
        expect(r.body).toEqual({
          statusCode: 503,
          error: 'SERVICE_UNAVAILABLE',
          message: `Not ready: database down (timeout: no answer within ${READY_DB_TIMEOUT_MS} ms)`,
          details: {
            status: 'not_ready',
            checks: {
              database: { status: 'down', latency_ms: expect.any(Number), error: `timeout: no answer within ${READY_DB_TIMEOUT_MS} ms` },
              redis: 'not configured',
              price_feed: expect.objectContaining({ status: 'off' }),
            },
            timestamp: expect.any(String),
          },
        });
        expect((await get(t, '/health', 1_000)).status).toBe(200);
      }
    } finally {
      proxy.thaw();
    }
    const back = await poll('/health/ready 200 after the thaw', async () => {
      const r = await ready(t);
      return r.status === 200 && r;
    });
    expect(back.body.checks.database.status).toBe('up');
  });

  it('cut (connections reset, new ones refused): /health 200, /health/ready 503 "connection failed", 200 once it is back', async () => {
    expect((await ready(t)).status).toBe(200);
    proxy.cut();
    try {
      const down = await poll('/health/ready 503 with the database cut', async () => {
        const r = await ready(t);
        return r.status === 503 && r;
      });
      expect(down.ms).toBeLessThan(READY_DB_TIMEOUT_MS + SLACK_MS);
      expect(down.body.message).toMatch(/^Not ready: database down \(/);
      expect(down.body.details.checks.database).toMatchObject({ status: 'down', error: expect.stringMatching(/^(connection failed|timeout)/) });
      const live = await get(t, '/health', 1_000);
      expect(live.status).toBe(200);
      expect(live.body.status).toBe('ok');
    } finally {
      proxy.restore();
    }
    await poll('/health/ready 200 once PostgreSQL is back', async () => (await ready(t)).status === 200);
  });
});

describe('probes with Redis stopped and started again', { timeout: 60_000 }, () => {
  let t: TestApp;
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startRedisServer();
    t = await startTestApp({ REDIS_URL: redis.url, REDIS_PREFIX: `rmtest-probe-${randomBytes(4).toString('hex')}:` });
  });
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('/health/ready 503 while Redis is down (/health stays 200 and shows it), 200 once it is back', async () => {
    const up = await poll('/health/ready 200 with Redis up', async () => {
      const r = await ready(t);
      return r.status === 200 && r;
    });
    expect(up.body.checks.redis).toEqual({ status: 'up', latency_ms: expect.any(Number) });

    await redis.stop();
    try {
      const down = await poll('/health/ready 503 with Redis down', async () => {
        const r = await ready(t);
        return r.status === 503 && r;
      });
      expect(down.body.message).toMatch(/^Not ready: redis down/);
      expect(down.body.details.checks.redis).toMatchObject({ status: 'down', error: expect.any(String) });
      expect(down.body.details.checks.database.status).toBe('up');
      const live = await get(t, '/health');
      expect(live.status).toBe(200);
      expect(live.body).toMatchObject({ status: 'degraded', bus: 'redis', redis: 'down' });
    } finally {
      await redis.start();
    }
    const back = await poll('/health/ready 200 with Redis back', async () => {
      const r = await ready(t);
      return r.status === 200 && r;
    });
    expect(back.body.checks.redis.status).toBe('up');
    expect((await get(t, '/health')).body).toMatchObject({ status: 'ok', redis: 'up' });
  });
});

describe('readiness and the price feed', { timeout: 60_000 }, () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps.reverse()) await a.close();
  });
  const feedEnv = { PRICE_FEED_MODE: 'inprocess', REALTIME_UPDATE_INTERVAL: '0.3', PRICE_BACKFILL_DAYS: '0' };

  it('in-process feed: fresh while it runs, 503 "stale" once it stops running for READY_MAX_FEED_AGE seconds', async () => {
    const t = await startTestApp({ ...feedEnv, READY_MAX_FEED_AGE: '2' });
    apps.push(t);
    const fresh = await poll('/health/ready with a fresh feed', async () => {
      const r = await ready(t);
      return r.status === 200 && r.body.checks.price_feed.status === 'fresh' && r;
    });
    expect(fresh.body.checks.price_feed).toEqual({
      status: 'fresh',
      mode: 'inprocess',
      source: 'local',
      last_run_at: expect.any(String),
      age_s: expect.any(Number),
      max_age_s: 2,
    });
    expect(fresh.body.checks.price_feed.age_s).toBeLessThanOrEqual(2);
    const user = await loginAs(t, 'feed-watcher');
    const guide = await poll('/realtime/health/ to say the feed runs', async () => {
      const r = await fetch(`${t.url}/realtime/health/`, { headers: { cookie: user.cookie } });
      const body = (await r.json()) as { price_feed_running: boolean };
      return r.status === 200 && body.price_feed_running && body;
    });
    expect(guide).toEqual({ price_feed_running: true, active_connections: 0, timestamp: expect.any(String) });

    // The feed stops (its process part dies, the API goes on): past the age, not ready, saying why.
    await t.app.get(PriceFeedScheduler).stop();
    const stoppedAt = t.app.get(PriceFeedStatus).lastRunAt!.getTime();
    const stale = await poll(
      '/health/ready 503 with a stale feed',
      async () => {
        const r = await ready(t);
        return r.status === 503 && r;
      },
      10_000,
    );
    expect(Date.now() - stoppedAt).toBeGreaterThan(2_000);
    expect(stale.body.message).toMatch(/^Not ready: price feed stale \(last run [\d.]+ s ago \(more than 2 s\)\)$/);
    expect(stale.body.details.checks.database.status).toBe('up');
    expect(stale.body.details.checks.price_feed).toMatchObject({
      status: 'stale',
      mode: 'inprocess',
      source: 'local',
      last_run_at: new Date(stoppedAt).toISOString(),
      max_age_s: 2,
      error: expect.stringMatching(/^last run/),
    });
    expect(stale.body.details.checks.price_feed.age_s).toBeGreaterThan(2);
    // Liveness does not care.
    expect((await get(t, '/health')).status).toBe(200);
  });

  it('READY_MAX_FEED_AGE=0 turns the feed check off: a feed stopped for a while leaves the instance ready', async () => {
    const t = await startTestApp({ ...feedEnv, READY_MAX_FEED_AGE: '0' });
    apps.push(t);
    await poll('the feed to have run', () => t.app.get(PriceFeedStatus).runs >= 1);
    await t.app.get(PriceFeedScheduler).stop();
    const r = await poll('the last run to be more than 2 s old', async () => {
      const a = await ready(t);
      return a.body?.checks?.price_feed?.age_s > 2 && a;
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ready');
    expect(r.body.checks.price_feed).toMatchObject({ status: 'not checked', mode: 'inprocess', source: 'local', max_age_s: 0 });
  });

  it('PRICE_FEED_MODE=external: stale without the feed process heartbeat in Redis, fresh from the heartbeat', async () => {
    const redisUrl = inject('redisUrl');
    const prefix = `rmtest-probe-feed-${randomBytes(4).toString('hex')}:`;
    const t = await startTestApp({ PRICE_FEED_MODE: 'external', REDIS_URL: redisUrl, REDIS_PREFIX: prefix, READY_MAX_FEED_AGE: '3' });
    apps.push(t);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      // No feed process: once the process is older than READY_MAX_FEED_AGE, not ready.
      const stale = await poll('/health/ready 503 without a feed heartbeat', async () => {
        const r = await ready(t);
        return r.status === 503 && r;
      });
      expect(stale.body.details.checks.redis.status).toBe('up');
      expect(stale.body.details.checks.price_feed).toEqual({
        status: 'stale',
        mode: 'external',
        source: null,
        last_run_at: null,
        age_s: null,
        max_age_s: 3,
        error: 'no heartbeat of the price-feed process in Redis in the 3 s since start-up',
      });

      // The feed process's heartbeat, as PriceFeedStatus.beat() writes it after each run.
      const lastRun = new Date().toISOString();
      const beat = { host: 'feed-host', pid: 4242, role: 'leader', last_run_at: lastRun, interval_seconds: 15, batch_size: 100 };
      await redis.set(`${prefix}${PriceFeedStatus.HEARTBEAT_KEY}`, JSON.stringify(beat), 'EX', 60);
      const fresh = await ready(t);
      expect(fresh.status).toBe(200);
      expect(fresh.body.checks.price_feed).toMatchObject({ status: 'fresh', mode: 'external', source: 'heartbeat', last_run_at: lastRun, max_age_s: 3 });

      // The heartbeat expires (the feed process died): the last run seen keeps ageing.
      await redis.del(`${prefix}${PriceFeedStatus.HEARTBEAT_KEY}`);
      const again = await poll('/health/ready 503 once the last heartbeat run is too old', async () => {
        const r = await ready(t);
        return r.status === 503 && r;
      });
      expect(again.body.details.checks.price_feed).toMatchObject({ status: 'stale', source: 'heartbeat', last_run_at: lastRun });
    } finally {
      redis.disconnect();
    }
  });
});
