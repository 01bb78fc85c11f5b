import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetCatalogService } from '../../src/assets/asset-catalog.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { openProbe } from '../support/realtime-probes';

/** A real server-side failure (the assets table is unavailable) gives INTERNAL, and the connection survives. */
describe('realtime: INTERNAL errors', () => {
  let t: TestApp;
  beforeAll(async () => {
    // The failure is logged as an error on purpose; keep the test output quiet.
    t = await startTestApp({ LOG_LEVEL: 'error' });
  });
  afterAll(async () => {
    await sql(t.databaseUrl, 'ALTER TABLE IF EXISTS assets_unavailable RENAME TO assets').catch(() => undefined);
    await t?.close();
  });

  it.each(['websocket', 'socketio'] as const)('%s: INTERNAL when the catalog cannot be read; usable again afterwards', async (kind) => {
    const p = await openProbe(kind, t);
    await p.next('connection');
    await sql(t.databaseUrl, 'ALTER TABLE assets RENAME TO assets_unavailable');
    t.app.get(AssetCatalogService).invalidate();
    try {
      p.send('subscribe_asset', { symbol: 'AAPL' }, 'boom');
      const e = await p.next('error');
      expect(e.data).toMatchObject({ code: 'INTERNAL', request_type: 'subscribe_asset', id: 'boom' });
      expect(e.data.message).not.toMatch(/assets|relation|SELECT/i);
    } finally {
      await sql(t.databaseUrl, 'ALTER TABLE assets_unavailable RENAME TO assets');
    }
    p.send('subscribe_asset', { symbol: 'AAPL' }, 'ok');
    expect((await p.next('subscribed')).id).toBe('ok');
    await p.close();
  });
});
