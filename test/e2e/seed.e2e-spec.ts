import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/assets/catalog/catalog';
import { DEMO_POSITIONS } from '../../src/assets/catalog/catalog-seed.service';
import { startTestApp, TestApp } from '../support/app';
import { runCli } from '../support/cli';
import { createTestDatabase, sql } from '../support/database';

const catalog = loadCatalog();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function counts(url: string) {
  const [r] = await sql<{ assets: number; users: number; demo: number; portfolios: number; positions: number }>(
    url,
    `SELECT (SELECT count(*)::int FROM assets) AS assets, (SELECT count(*)::int FROM users) AS users,
            (SELECT count(*)::int FROM users WHERE username = 'demo') AS demo,
            (SELECT count(*)::int FROM portfolios) AS portfolios, (SELECT count(*)::int FROM positions) AS positions`,
  );
  return r;
}

describe('catalog seeding at start-up', () => {
  let t: TestApp;

  it('loads the whole catalog and the demo user into an empty database', async () => {
    t = await startTestApp();
    cleanups.push(() => t.close());
    const c = await counts(t.databaseUrl);
    expect(c).toEqual({ assets: catalog.length, users: 1, demo: 1, portfolios: 1, positions: DEMO_POSITIONS.length });
    const [aapl] = await sql<Record<string, unknown>>(t.databaseUrl, `SELECT * FROM assets WHERE symbol = 'AAPL'`);
    const ref = catalog.find((e) => e.symbol === 'AAPL')!.reference_price;
    expect(aapl).toMatchObject({ name: 'Apple Inc.', asset_type: 'STOCK', source: 'catalog', last_updated: null });
    expect(Number(aapl.current_price)).toBe(Number(ref));
    expect(aapl.previous_close).toBe(aapl.current_price);
    const [p] = await sql<{ name: string; username: string }>(t.databaseUrl, `SELECT p.name, u.username FROM portfolios p JOIN users u ON u.id = p.owner_id`);
    expect(p).toEqual({ name: 'Demo Portfolio', username: 'demo' });
    // Its ledger: one opening BUY per position, 20 days back, reproducing each position exactly.
    const opening = await sql<{ symbol: string; quantity: string; price: string; days: number; same: boolean }>(
      t.databaseUrl,
      `SELECT a.symbol, t.quantity, t.price, ((now() AT TIME ZONE 'UTC')::date - t.date) AS days,
              (t.quantity = pos.quantity AND t.price = pos.average_cost) AS same
         FROM transactions t JOIN assets a ON a.id = t.asset_id JOIN positions pos ON pos.portfolio_id = t.portfolio_id AND pos.asset_id = t.asset_id
        WHERE t.type = 'BUY' ORDER BY a.symbol`,
    );
    expect(opening.map((o) => o.symbol)).toEqual(DEMO_POSITIONS.map((d) => d.symbol).sort());
    expect(opening.every((o) => o.same && o.days === 20)).toBe(true);
    const [{ hash }] = await sql<{ hash: string }>(t.databaseUrl, `SELECT password_hash AS hash FROM users WHERE username = 'demo'`);
    expect(hash).toMatch(/^\$argon2id\$/);
  });

  it('does not load again on restart, even when the catalog rows were changed or removed', async () => {
    await sql(t.databaseUrl, `UPDATE assets SET current_price = 1.5 WHERE symbol = 'AAPL'`);
    await sql(t.databaseUrl, `DELETE FROM assets WHERE symbol = 'UNI-USD'`);
    await sql(t.databaseUrl, `DELETE FROM users WHERE username = 'demo'`);
    await t.stop();
    const again = await startTestApp({}, { databaseUrl: t.databaseUrl });
    cleanups.push(() => again.stop());
    const c = await counts(t.databaseUrl);
    expect(c).toEqual({ assets: catalog.length - 1, users: 0, demo: 0, portfolios: 0, positions: 0 });
    const [aapl] = await sql<{ current_price: string }>(t.databaseUrl, `SELECT current_price FROM assets WHERE symbol = 'AAPL'`);
    expect(Number(aapl.current_price)).toBe(1.5);
    await again.stop();
  });

  it('seeds exactly once when two instances start on the same empty database at once', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    // Migrations first (TypeORM's migration table is not safe for concurrent first runs; the seeding lock is what is under test).
    await runCli(['migrate'], { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error' });
    const [a, b] = await Promise.all([startTestApp({}, { databaseUrl: db.url }), startTestApp({}, { databaseUrl: db.url })]);
    cleanups.push(
      () => a.stop(),
      () => b.stop(),
    );
    expect(await counts(db.url)).toEqual({ assets: catalog.length, users: 1, demo: 1, portfolios: 1, positions: DEMO_POSITIONS.length });
    await a.stop();
    await b.stop();
  });

  it('creates no demo user when SEED_DEMO is off', async () => {
    const off = await startTestApp({ SEED_DEMO: 'false' });
    cleanups.push(() => off.close());
    expect(await counts(off.databaseUrl)).toEqual({ assets: catalog.length, users: 0, demo: 0, portfolios: 0, positions: 0 });
    await off.close();
  });
});

describe('CLI: migrate and seed', () => {
  it('migrates an empty database, seeds it, and is idempotent', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const env = { DATABASE_URL: db.url, NODE_ENV: 'test', LOG_LEVEL: 'error', SEED_DEMO: undefined, DEMO_PASSWORD: undefined };

    const m1 = await runCli(['migrate'], env);
    expect(m1.exitCode).toBe(0);
    expect(m1.stdout).toMatch(/applied InitialSchema\d+/);
    expect(m1.stdout).toMatch(/Applied \d+ migration\(s\) to DATABASE_URL/);
    const m2 = await runCli(['migrate'], env);
    expect(m2.stdout).toMatch(/No pending migrations/);
    expect((await counts(db.url)).assets).toBe(0);

    const s1 = await runCli(['seed'], env);
    expect(s1.exitCode).toBe(0);
    expect(s1.stdout).toContain(`catalog: ${catalog.length} symbols, ${catalog.length} inserted, 0 already present`);
    expect(s1.stdout).toMatch(/demo: created user "demo" with portfolio "Demo Portfolio" \(id \d+, 7 positions\)/);

    await sql(db.url, `DELETE FROM assets WHERE symbol IN ('XLM-USD', 'ATOM-USD')`);
    const s2 = await runCli(['seed'], env);
    expect(s2.stdout).toContain(`catalog: ${catalog.length} symbols, 2 inserted, ${catalog.length - 2} already present`);
    expect(s2.stdout).toMatch(/inserted: (XLM-USD ATOM-USD|ATOM-USD XLM-USD)/);
    expect(s2.stdout).toContain('demo: user "demo" already exists');
    expect(await counts(db.url)).toEqual({ assets: catalog.length, users: 1, demo: 1, portfolios: 1, positions: DEMO_POSITIONS.length });
  });

  it('runs no demo seeding in production without DEMO_PASSWORD', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const r = await runCli(['seed'], {
      DATABASE_URL: db.url,
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(40),
      LOG_LEVEL: 'error',
      SEED_DEMO: 'true',
      DEMO_PASSWORD: undefined,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('demo: not created (set DEMO_PASSWORD');
    expect((await counts(db.url)).users).toBe(0);
  });

  it('migrates on the embedded default (no DATABASE_URL) and stops the server afterwards', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rm-cli-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const r = await runCli(['migrate'], { DATABASE_URL: undefined, DATA_DIR: dir, NODE_ENV: 'test', LOG_LEVEL: 'error', EMBEDDED_PG_PORT: undefined });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Applied \d+ migration\(s\) to embedded PostgreSQL/);
    expect(existsSync(join(dir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dir, 'postgres', 'postmaster.pid'))).toBe(false);
    const again = await runCli(['migrate'], { DATABASE_URL: undefined, DATA_DIR: dir, NODE_ENV: 'test', LOG_LEVEL: 'error' });
    expect(again.stdout).toMatch(/No pending migrations \(embedded PostgreSQL\)/);
  }, 90_000);
});
