import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusMessages } from '../../src/bus/bus.messages';
import { RedisBus } from '../../src/bus/redis.bus';
import { TEST_BUS_SECRET } from '../support/app';
import { runCli } from '../support/cli';
import { createTestDatabase, sql } from '../support/database';
import { requireBuild } from '../unit/price-feed/support/feed-process';
import { poll } from '../support/poll';

const REDIS_URL = inject('redisUrl');
const CLI_MAIN = join(__dirname, '..', '..', 'dist', 'cli.main.js');

/** Rows of the printed table as {SYMBOL: [STATUS, FETCHED, STORED, REJECTED, PRICE, SOURCE]}. */
function table(stdout: string): Record<string, string[]> {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('SYMBOL'));
  const out: Record<string, string[]> = {};
  for (const l of lines.slice(start + 1)) {
    if (!l.trim() || /^\d+ symbol\(s\):/.test(l)) break;
    const [symbol, ...rest] = l.trim().split(/\s{2,}/);
    out[symbol] = rest;
  }
  return out;
}

describe('update-asset-prices', () => {
  let db: { url: string; drop: () => Promise<void> };
  let dataDir: string;
  let env: Record<string, string | undefined>;
  const prefix = `rmtest-${randomUUID()}:`;
  const snapshot = () =>
    Promise.all([
      sql(db.url, `SELECT symbol, current_price, last_updated FROM assets ORDER BY symbol`),
      sql(db.url, `SELECT count(*)::int AS n, "interval" FROM price_history GROUP BY 2 ORDER BY 2`),
    ]);

  beforeAll(async () => {
    db = await createTestDatabase('rmcmd');
    dataDir = mkdtempSync(join(tmpdir(), 'rm-cmd-'));
    env = {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      REDIS_URL: undefined,
      LOG_LEVEL: 'error',
      REALTIME_BATCH_SIZE: '50',
      PRICE_PROVIDERS: '*=simulated',
    };
    const seeded = await runCli(['seed'], env);
    expect(seeded.exitCode).toBe(0);
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('--symbols AAPL MSFT GOOGL: prices those three, prints a table, stores ticks', async () => {
    const r = await runCli(['update-asset-prices', '--symbols', 'AAPL', 'MSFT', 'googl', 'NOPE'], env);
    expect(r.exitCode).toBe(0);
    const t = table(r.stdout);
    expect(Object.keys(t)).toEqual(['AAPL', 'MSFT', 'GOOGL', 'NOPE']);
    for (const s of ['AAPL', 'MSFT', 'GOOGL']) {
      expect(t[s].slice(0, 4)).toEqual(['updated', 'yes', 'yes', '-']);
      expect(t[s][5]).toBe('simulated');
      const [row] = await sql<{ current_price: string }>(db.url, `SELECT current_price FROM assets WHERE symbol = $1`, [s]);
      expect(Number(row.current_price)).toBe(Number(t[s][4]));
    }
    expect(t.NOPE.slice(0, 3)).toEqual(['unknown', 'no', 'no']);
    expect(r.stdout).toMatch(/4 symbol\(s\): 3 updated, 1 unknown/);
    const [{ n }] = await sql<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM assets WHERE last_updated IS NOT NULL`);
    expect(n).toBe(3);
  });

  it('without --symbols: every asset, in batches', async () => {
    const r = await runCli(['update-asset-prices'], env);
    expect(r.exitCode).toBe(0);
    const [{ total }] = await sql<{ total: number }>(db.url, `SELECT count(*)::int AS total FROM assets`);
    expect(Object.keys(table(r.stdout))).toHaveLength(total);
    expect(r.stdout).toContain(`${total} symbol(s): ${total} updated`);
  });

  it('--dry-run fetches and validates but writes nothing', async () => {
    const before = await snapshot();
    const r = await runCli(['update-asset-prices', '--symbols', 'AAPL', '--dry-run'], env);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/dry run: nothing is written/);
    expect(table(r.stdout).AAPL.slice(0, 3)).toEqual(['valid', 'yes', 'no']);
    expect(await snapshot()).toEqual(before);
  });

  it('--historical --days 30 loads daily bars; with --dry-run it writes none', async () => {
    const dry = await runCli(['update-asset-prices', '--symbols', 'AAPL', 'BTC-USD', '--historical', '--days', '30', '--dry-run'], env);
    expect(dry.exitCode).toBe(0);
    expect(table(dry.stdout)['BTC-USD'].slice(0, 3)).toEqual(['valid', '30', '0']);
    expect((await snapshot())[1].find((r) => r.interval === '1d')).toBeUndefined();

    const r = await runCli(['update-asset-prices', '--symbols', 'AAPL', 'BTC-USD', '--historical', '--days', '30'], env);
    expect(r.exitCode).toBe(0);
    const t = table(r.stdout);
    expect(t['BTC-USD'].slice(0, 4)).toEqual(['updated', '30', '30', '0']);
    expect(Number(t.AAPL[1])).toBeGreaterThanOrEqual(20); // weekdays only
    const rows = await sql<{ symbol: string; n: number }>(
      db.url,
      `SELECT a.symbol, count(*)::int AS n FROM price_history h JOIN assets a ON a.id = h.asset_id WHERE h."interval" = '1d' GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { symbol: 'AAPL', n: Number(t.AAPL[2]) },
      { symbol: 'BTC-USD', n: 30 },
    ]);
    // Running it again updates the same bars, adds none.
    await runCli(['update-asset-prices', '--symbols', 'BTC-USD', '--historical', '--days', '30'], env);
    const [{ n }] = await sql<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM price_history WHERE "interval" = '1d'`);
    expect(n).toBe(rows[0].n + 30);
  });

  it('fails (exit code 1) when nothing could be priced, and rejects a bad --days', async () => {
    const r = await runCli(['update-asset-prices', '--symbols', 'NOPE', 'ALSO-NOPE'], env);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/nothing could be priced/);
    const bad = await runCli(['update-asset-prices', '--historical', '--days', '0'], env);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/--days must be a whole number/);
  });

  it('a real `node dist/cli.main.js update-asset-prices` process exits non-zero when nothing is priced', async () => {
    requireBuild();
    const child = spawn(process.execPath, [CLI_MAIN, 'update-asset-prices', '--symbols', 'NOPE'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).toBe(1);
    expect(out).toMatch(/NOPE\s+unknown/);
  });

  it('publishes committed prices on the bus (Redis), so a running API sees them', async () => {
    // The CLI signs with BUS_SECRET; this subscriber checks with the same one.
    const bus = new RedisBus(REDIS_URL, prefix, undefined, { secret: TEST_BUS_SECRET });
    const seen: BusMessages['prices.committed'][] = [];
    bus.subscribe('prices.committed', (m) => seen.push(m));
    await bus.ready();
    try {
      const r = await runCli(['update-asset-prices', '--symbols', 'ETH-USD'], { ...env, REDIS_URL, REDIS_PREFIX: prefix, BUS_SECRET: TEST_BUS_SECRET });
      expect(r.exitCode).toBe(0);
      await poll('the CLI batch on the bus', () => seen.length > 0, 2_000);
      expect(seen).toHaveLength(1);
      expect(seen[0].ticks.map((t) => t.symbol)).toEqual(['ETH-USD']);
      expect(seen[0].origin).toMatch(/^update-asset-prices:/);
    } finally {
      await bus.onApplicationShutdown();
    }
  });
});
