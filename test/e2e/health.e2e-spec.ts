import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, MIGRATIONS } from '../../src/database/data-source.options';
import { sql } from '../support/database';
import { startTestApp, TestApp } from '../support/app';

describe('service boot', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /health with the database up', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'ok', database: 'up', bus: 'memory' });
  });

  it('reports redis "not configured" without REDIS_URL (and stays "ok")', async () => {
    const res = await fetch(`${t.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { timestamp: string };
    expect(body).toEqual({ status: 'ok', database: 'up', bus: 'memory', redis: 'not configured', timestamp: expect.any(String) });
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
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

  it('recorded every migration, and the last two revert and re-apply cleanly', async () => {
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
    const applied = async () => {
      expect(await opts()).toEqual(['fillfactor=50']);
      expect(await hasIndex()).toBe(false);
      expect(await historyFk()).toBe(false);
      expect(await historyTriggers()).toEqual(['trg_assets_delete_history', 'trg_assets_truncate_history']);
    };
    await applied();
    const ds = await new DataSource({ ...buildDataSourceOptions(t.databaseUrl, 2), logging: false }).initialize();
    try {
      await ds.undoLastMigration(); // PriceHistoryNoAssetFk: the foreign key is back, the triggers are gone
      expect(await historyFk()).toBe(true);
      expect(await historyTriggers()).toEqual([]);
      expect(await opts()).toEqual(['fillfactor=50']);
      await ds.undoLastMigration(); // AssetsHotUpdates
      expect(await opts()).toBeNull();
      expect(await hasIndex()).toBe(true);
      await ds.runMigrations();
      await applied();
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
  });
});
