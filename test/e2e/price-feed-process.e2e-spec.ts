import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_BUS_SECRET } from '../support/app';
import { createTestDatabase, sql } from '../support/database';
import { FeedProcess, requireBuild } from '../unit/price-feed/support/feed-process';
import { observeFor, poll } from '../support/poll';

const REDIS_URL = inject('redisUrl');

const ticks = async (url: string) => (await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM price_history WHERE "interval" = 'tick'`))[0].n;
const duplicates = (url: string) => sql(url, `SELECT asset_id, "interval", "timestamp" FROM price_history GROUP BY 1, 2, 3 HAVING count(*) > 1`);

describe('price-feed process: command line', { timeout: 60_000 }, () => {
  beforeAll(() => requireBuild());

  it('refuses to start without REDIS_URL, saying why', async () => {
    const p = new FeedProcess({ DATABASE_URL: 'postgres://127.0.0.1:1/none' });
    expect((await p.exited).code).toBe(2);
    expect(p.output).toMatch(/^price-feed: REDIS_URL is not set: .*set REDIS_URL=redis:\/\/127\.0\.0\.1:6379 .*PRICE_FEED_MODE=external/);
    expect(p.lines.filter(Boolean)).toHaveLength(1); // one line
  });

  it('--help documents the flags', async () => {
    const p = new FeedProcess({}, ['--help']);
    expect((await p.exited).code).toBe(0);
    for (const flag of ['--interval <seconds>', '--batch-size <n>', '--verbose', '--providers <spec>', 'REDIS_URL']) expect(p.output).toContain(flag);
  });

  it('rejects a bad flag value or an unknown flag', async () => {
    const bad = new FeedProcess({ REDIS_URL }, ['--interval', 'soon']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output).toMatch(/--interval must be a positive number/);
    const unknown = new FeedProcess({ REDIS_URL }, ['--intervall', '5']);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.output).toMatch(/Unknown option '--intervall'/);
  });
});

describe('price-feed processes: one writer, standby, takeover, lost connections, SIGTERM', { timeout: 60_000 }, () => {
  let db: { url: string; drop: () => Promise<void> };
  const prefix = `rmtest-${randomUUID()}:`;
  const procs: FeedProcess[] = [];
  const start = (args: string[] = ['--interval', '0.2']) => {
    // One BUS_SECRET for every process (the standby learns the leader's commits from the bus).
    const p = new FeedProcess(
      {
        DATABASE_URL: db.url,
        REDIS_URL,
        REDIS_PREFIX: prefix,
        BUS_SECRET: TEST_BUS_SECRET,
        PRICE_BACKFILL_DAYS: '0',
        LOG_LEVEL: 'log',
        REALTIME_BATCH_SIZE: '7',
      },
      args,
    );
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('rmfeed');
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await db?.drop();
  });

  let a: FeedProcess;
  let b: FeedProcess;

  it('the first process takes the lock and writes; flags override the environment', async () => {
    a = start(['--interval', '0.2', '--batch-size', '50', '--verbose']);
    await a.waitFor(/Holding the price-feed lock/);
    await a.waitFor(/batches of 50/);
    await a.waitFor(/Batch 1: \d+ updated/);
    await poll('(await ticks(db.url)) > 129', async () => (await ticks(db.url)) > 129);
    // The heartbeat tells an API in PRICE_FEED_MODE=external that a feed runs.
    const r = new Redis(REDIS_URL);
    const beat = JSON.parse((await poll('r.get(`${prefix}price-feed:heartbeat`)', () => r.get(`${prefix}price-feed:heartbeat`))) as string);
    r.disconnect();
    expect(beat).toMatchObject({ role: 'leader', interval_seconds: 0.2, batch_size: 50, pid: a.child.pid });
  });

  it('a second process stands by and does not write', async () => {
    b = start();
    await b.waitFor(/Another price feed holds the lock: standing by/);
    await observeFor(600, 'the standby does not take the lock');
    expect(b.output).not.toMatch(/Holding the price-feed lock/);
    expect(await duplicates(db.url)).toEqual([]);
  });

  it('takes over when the first is killed with SIGKILL', async () => {
    a.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    await b.waitFor(/Holding the price-feed lock/, 15_000);
    const n = await ticks(db.url);
    await poll('(await ticks(db.url)) > n + 129', async () => (await ticks(db.url)) > n + 129);
    expect(await duplicates(db.url)).toEqual([]);
  });

  it('survives pg_terminate_backend of all its connections mid-run and resumes, without duplicate rows', async () => {
    const from = b.lines.length;
    const killed = await sql<{ n: number }>(
      db.url,
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'realtime-markets%'`,
    );
    expect(killed[0].n).toBeGreaterThanOrEqual(2); // the pool and the lock connection
    await b.waitFor(/Lock connection (lost|closed|check failed)|Lost the price-feed lock/, 10_000, from);
    await b.waitFor(/Holding the price-feed lock/, 15_000, from);
    const n = await ticks(db.url);
    await poll('(await ticks(db.url)) > n + 129', async () => (await ticks(db.url)) > n + 129);
    expect(b.child.exitCode).toBeNull();
    expect(await duplicates(db.url)).toEqual([]);
    // Prices stay consistent with the last history row of each asset.
    const [{ behind }] = await sql<{ behind: number }>(
      db.url,
      `SELECT count(*)::int AS behind FROM assets a
        WHERE a.last_updated < (SELECT max(h."timestamp") FROM price_history h WHERE h.asset_id = a.id AND h."interval" = 'tick')`,
    );
    expect(behind).toBe(0);
  });

  it('SIGTERM finishes the current batch, releases the lock and exits 0; a standby takes over', async () => {
    const c = start();
    await c.waitFor(/standing by/);
    b.kill('SIGTERM');
    const exit = await b.exited;
    expect(exit.code).toBe(0);
    expect(b.output).toMatch(/SIGTERM received: finishing the current batch/);
    expect(b.output).toMatch(/Price feed stopped/);
    await c.waitFor(/Holding the price-feed lock/, 10_000);
    c.kill('SIGTERM');
    expect((await c.exited).code).toBe(0);
  });
});

describe('price-feed process: the batch cycle is the cron job price-feed-batch', { timeout: 60_000 }, () => {
  let db: { url: string; drop: () => Promise<void> };
  const prefix = `rmtest-${randomUUID()}:`;
  const procs: FeedProcess[] = [];
  const start = (env: Record<string, string>, args: string[] = []) => {
    const p = new FeedProcess(
      { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: prefix, BUS_SECRET: TEST_BUS_SECRET, PRICE_BACKFILL_DAYS: '0', LOG_LEVEL: 'log', ...env },
      args,
    );
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('rmfeedcron');
  });
  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}*`);
    if (keys.length) await r.del(...keys);
    r.disconnect();
    await db?.drop();
  });

  it('runs on PRICE_FEED_CRON: a first run when it takes the lock, then one per firing; SIGTERM still exits 0', async () => {
    const p = start({ PRICE_FEED_CRON: '* * * * * *', REALTIME_UPDATE_INTERVAL: '1' });
    await p.waitFor(/Price feed started: cron "\* \* \* \* \* \*" \(UTC, from PRICE_FEED_CRON\)/);
    await p.waitFor(/Price feed process \d+ up \(cron "\* \* \* \* \* \*"/);
    await p.waitFor(/Holding the price-feed lock/);
    // Three runs of every asset: the lock is taken once, so at least two came from the job's firings.
    await poll('(await ticks(db.url)) >= 3 * 129', async () => (await ticks(db.url)) >= 3 * 129, 20_000);
    expect(p.output).not.toMatch(/has no cron expression/);
    p.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
    expect(p.output).toMatch(/Price feed stopped/);
  });

  it('--interval wins over PRICE_FEED_CRON: --interval 2 runs the job every 2 seconds, --interval 0.3 on the timer fallback', async () => {
    const cron = start({ PRICE_FEED_CRON: '0 0 0 * * *' }, ['--interval', '2']);
    await cron.waitFor(/Price feed started: cron "\*\/2 \* \* \* \* \*" \(UTC, from REALTIME_UPDATE_INTERVAL\)/);
    cron.kill('SIGTERM');
    expect((await cron.exited).code).toBe(0);
    const timer = start({ PRICE_FEED_CRON: '0 0 0 * * *' }, ['--interval', '0.3']);
    await timer.waitFor(/REALTIME_UPDATE_INTERVAL=0\.3 s has no cron expression/);
    await timer.waitFor(/Price feed started: every 300 ms \(fixed-rate timer\)/);
    timer.kill('SIGTERM');
    expect((await timer.exited).code).toBe(0);
    expect(timer.output.match(/has no cron expression/g)).toHaveLength(1);
  });
});
