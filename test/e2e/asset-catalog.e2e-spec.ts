import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AssetCatalogService } from '../../src/assets/asset-catalog.service';
import { startTestApp, TestApp } from '../support/app';
import { sql } from '../support/database';
import { poll } from '../support/poll';

/**
 * The symbol catalog behind every subscribe: the minutely refresh runs behind the answers
 * (a subscribe never waits for a full read of the assets table), a change that invalidates
 * it is waited for.
 */
describe('AssetCatalogService (real database)', () => {
  let t: TestApp;
  let catalog: AssetCatalogService;
  const age = (ms: number) => {
    (catalog as unknown as { loadedAt: number }).loadedAt -= ms;
  };
  beforeAll(async () => {
    t = await startTestApp();
    catalog = t.app.get(AssetCatalogService);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers from the list it holds while the minutely refresh runs, then from the refreshed one', async () => {
    expect(await catalog.isKnown('AAPL')).toBe(true);
    await sql(t.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZCAT1', 'Catalog one', 'STOCK')`);
    expect(await catalog.isKnown('ZZCAT1')).toBe(false); // within the minute: the list held
    age(61_000);
    expect(await catalog.isKnown('ZZCAT1')).toBe(false); // due: answered at once from the old list, refresh started
    await poll('the refresh to find ZZCAT1', () => catalog.isKnown('ZZCAT1'));
  });

  it('after invalidate, the next answer waits for a fresh list (an asset added or removed counts at once)', async () => {
    await sql(t.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZCAT2', 'Catalog two', 'STOCK')`);
    expect(await catalog.isKnown('ZZCAT2')).toBe(false);
    catalog.invalidate();
    expect(await catalog.isKnown('ZZCAT2')).toBe(true);
    await sql(t.databaseUrl, `DELETE FROM assets WHERE symbol = 'ZZCAT2'`);
    catalog.invalidate();
    expect(await catalog.isKnown('ZZCAT2')).toBe(false);
  });

  it('questions asked together after an invalidate all wait for the load (the subscribe path asks one per symbol at once)', async () => {
    await sql(t.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZCAT4', 'Catalog four', 'STOCK')`);
    catalog.invalidate();
    expect(await Promise.all(['AAPL', 'ZZCAT4', 'ZZCAT1', 'ZZCAT4'].map((s) => catalog.isKnown(s)))).toEqual([true, true, true, true]);
  });

  it('an invalidate during a load that started before it is not answered by that load', async () => {
    age(61_000);
    expect(await catalog.isKnown('AAPL')).toBe(true); // starts a refresh in the background
    await sql(t.databaseUrl, `INSERT INTO assets (symbol, name, asset_type) VALUES ('ZZCAT3', 'Catalog three', 'STOCK')`);
    catalog.invalidate();
    expect(await catalog.isKnown('ZZCAT3')).toBe(true);
  });
});
