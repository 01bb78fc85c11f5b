import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';
import { sql } from '../support/database';
import { API_MAIN, CLI_MAIN, FEED_MAIN, NodeProcess, requireBuild } from '../support/node-process';
import { portOpen } from '../support/ports';
import { WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';

const ROOT = join(__dirname, '..', '..');
const ORM_CLI = join(ROOT, 'node_modules', 'typeorm', 'cli.js');
const ORM_CONFIG = join(ROOT, 'dist-orm', 'ormconfig.js');

/** Lines that look like trouble to a person reading the terminal after Ctrl-C. */
const ALARMING = /\b(ERROR|WARN|FATAL)\b|terminating connection|raised an error|Lost the price-feed lock|Unhandled|^\s+at /;

/** The embedded cluster as a later process finds it: port from postmaster.pid, password from DATA_DIR. */
function clusterUrl(dataDir: string): string | undefined {
  const pidFile = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const port = Number(readFileSync(pidFile, 'utf8').split('\n')[3]);
  const password = readFileSync(join(dataDir, 'postgres.password'), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/realtime_markets`;
}

describe('a second terminal: CLI commands and the price feed next to `npm start` on the default (embedded) database', { timeout: 180_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rm-second-terminal-'));
  const redisUrl = inject('redisUrl');
  const prefix = `rmtest-${randomUUID()}:`;
  const procs: NodeProcess[] = [];
  let env: Record<string, string>;
  let base: string;

  beforeAll(async () => {
    requireBuild();
    // `npm run typeorm` compiles ormconfig.ts first; so does this test.
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.ormconfig.json'], { cwd: ROOT, timeout: 120_000 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // As a person would run it: no DATABASE_URL, development mode, the project's DATA_DIR.
    env = {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      PRICE_BACKFILL_DAYS: '0',
      LOG_LEVEL: 'log',
    };
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    // A cluster a failed test left running: stop it so the folder can go.
    const url = clusterUrl(dataDir);
    if (url) {
      const pid = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        /* gone */
      }
      await poll('the leftover cluster to stop', () => !existsSync(join(dataDir, 'postgres', 'postmaster.pid')), 20_000).catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const spawnProc = (script: string, extra: Record<string, string> = {}, args: string[] = []) => {
    const p = new NodeProcess(script, { ...env, ...extra }, args);
    procs.push(p);
    return p;
  };

  it('joins the running cluster from the CLI and the feed, the API sees what they wrote, and the last process out stops it', async () => {
    // Terminal 1: npm start, with the feed in its own process (so the second terminal's feed is the writer).
    const api = spawnProc(API_MAIN, { PRICE_FEED_MODE: 'external' });
    await api.waitFor(/Serving on http/, 90_000);
    await api.waitFor(/Dashboard: http:\/\/localhost:\d+\/realtime\/dashboard\/ \(log in as demo, password demo-password\)/, 5_000);
    const pgPort = Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[3]);
    expect(await portOpen(pgPort)).toBe(true);

    // Terminal 2: create-user, against the same data (the API logs the new user in).
    const createUser = spawnProc(CLI_MAIN, { NEW_USER_PASSWORD: 'carol-password-1' }, ['create-user', 'carol']);
    expect((await createUser.exit(60_000)).code).toBe(0);
    expect(createUser.output).toMatch(/created user "carol"/);
    expect(createUser.output).not.toMatch(/in use|DATA_DIR/);
    await request(base).post('/auth/login').send({ username: 'carol', password: 'carol-password-1' }).expect(200);

    // migration:run and the TypeORM CLI see the same, already migrated, database.
    const migrate = spawnProc(CLI_MAIN, {}, ['migrate']);
    expect((await migrate.exit(60_000)).code).toBe(0);
    expect(migrate.output).toMatch(/No pending migrations .*all applied/);
    const show = spawnProc(ORM_CLI, {}, ['-d', ORM_CONFIG, 'migration:show']);
    expect((await show.exit(60_000)).code).toBe(0);
    expect(show.output).toMatch(/\[X\] \d+ InitialSchema/);
    expect(show.output).toMatch(/Using the embedded PostgreSQL already running/);

    // update-asset-prices: the API serves the stored price.
    const before = (await request(base).get('/api/assets/MSFT').expect(200)).body as { last_updated: string | null };
    const update = spawnProc(CLI_MAIN, {}, ['update-asset-prices', '--symbols', 'MSFT']);
    expect((await update.exit(60_000)).code).toBe(0);
    expect(update.output).toMatch(/MSFT\s+updated/);
    const after = (await request(base).get('/api/assets/MSFT').expect(200)).body as { last_updated: string; source: string };
    expect(after.last_updated).not.toBe(before.last_updated);
    expect(after.source).toBe('simulated');

    // The price feed as its own process: its prices reach a client of the API.
    const client = await WsProbe.open(base.replace('http', 'ws'));
    client.send('subscribe_asset', { symbol: 'AAPL' });
    await client.next('subscribed');
    const feed = spawnProc(FEED_MAIN, {}, ['--interval', '0.3']);
    await feed.waitFor(/Using the embedded PostgreSQL already running on 127\.0\.0\.1:\d+/, 60_000);
    await feed.waitFor(/Holding the price-feed lock/, 30_000);
    const live = await client.next('asset_update', (m) => (m.data as { symbol: string }).symbol === 'AAPL', 20_000);
    expect(Number((live.data as { price: number }).price)).toBeGreaterThan(0);
    await client.close();

    // Ctrl-C in terminal 1: the API stops quietly and leaves the cluster to the feed, which keeps writing.
    const apiMark = api.lines.length;
    api.ctrlC();
    expect((await api.exit(30_000)).code).toBe(0);
    const apiTail = api.lines.slice(apiMark);
    expect(apiTail.filter((l) => ALARMING.test(l))).toEqual([]);
    expect(apiTail.join('\n')).toMatch(new RegExp(`Embedded PostgreSQL left running for process ${feed.child.pid}`));
    expect(await portOpen(pgPort)).toBe(true);
    const url = clusterUrl(dataDir)!;
    const stamp = async () => (await sql<{ t: string }>(url, `SELECT max(last_updated)::text AS t FROM assets`))[0].t;
    const t0 = await stamp();
    await poll('the feed to write after the API stopped', async () => (await stamp()) !== t0, 20_000);

    // Ctrl-C in terminal 2: the last process out stops the cluster.
    const feedMark = feed.lines.length;
    feed.ctrlC();
    expect((await feed.exit(30_000)).code).toBe(0);
    const feedTail = feed.lines.slice(feedMark);
    expect(feedTail.filter((l) => ALARMING.test(l))).toEqual([]);
    expect(feedTail.join('\n')).toMatch(/Embedded PostgreSQL stopped/);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(await portOpen(pgPort)).toBe(false);
  });

  it('a CLI command alone starts the cluster, and stops it again when it is done', async () => {
    const seed = spawnProc(CLI_MAIN, {}, ['seed']);
    expect((await seed.exit(60_000)).code).toBe(0);
    expect(seed.output).toMatch(/catalog: \d+ symbols/);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(readFileSync(join(dataDir, 'postgres', 'PG_VERSION'), 'utf8').trim()).toMatch(/^\d+$/);
  });
});
