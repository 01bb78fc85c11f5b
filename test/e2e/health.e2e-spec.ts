import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('applied every migration to the empty database', async () => {
    const tables = await sql<{ table_name: string }>(
      t.databaseUrl,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['assets', 'migrations', 'portfolios', 'positions', 'price_history', 'session', 'users']),
    );
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
