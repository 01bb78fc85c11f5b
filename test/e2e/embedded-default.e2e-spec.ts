import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/assets/catalog/catalog';
import { AppConfig } from '../../src/config/app-config';
import { DatabaseUrlProvider } from '../../src/database/database-url.provider';
import { startTestApp } from '../support/app';
import { portOpen } from '../support/ports';

describe('embedded default (no DATABASE_URL)', () => {
  it('boots on an embedded PostgreSQL under DATA_DIR, serves the catalog and the demo user, and stops it on close', async () => {
    const t = await startTestApp({ DATABASE_URL: undefined });
    try {
      const dataDir = t.app.get(AppConfig).DATA_DIR;
      const db = t.app.get(DatabaseUrlProvider);
      expect(db.isEmbedded).toBe(true);
      const pgDir = join(dataDir, 'postgres');
      expect(existsSync(join(pgDir, 'PG_VERSION'))).toBe(true);
      const pid = readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n');
      const port = Number(pid[3]);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(5432);
      expect(await portOpen(port)).toBe(true);

      const assets = await request(t.url).get('/api/assets?limit=1');
      expect(assets.status).toBe(200);
      expect(assets.body.total).toBe(loadCatalog().length);
      const agent = request.agent(t.url);
      await agent.post('/auth/login').send({ username: 'demo', password: 'demo-password' }).expect(200);
      const list = await agent.get('/api/portfolios').expect(200);
      expect(list.body.items[0].name).toBe('Demo Portfolio');

      await t.stop();
      expect(existsSync(join(pgDir, 'postmaster.pid'))).toBe(false);
      expect(await portOpen(port)).toBe(false);
    } finally {
      await t.close();
    }
  }, 120_000);
});
