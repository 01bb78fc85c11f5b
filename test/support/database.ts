import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { inject } from 'vitest';
import { buildDataSourceOptions } from '../../src/database/data-source.options';

/** Creates a fresh, empty database on the run's PostgreSQL server and returns its URL. */
export async function createTestDatabase(prefix = 'rmtest'): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = inject('pgAdminUrl');
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const c = new Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new Client({ connectionString: admin });
      await d.connect();
      try {
        await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await d.end();
      }
    },
  };
}

/**
 * A fresh database with every migration run, through the app's own DataSource options (migrations
 * run here, not at initialise): for specs that work on the schema or the writers directly.
 * `close` destroys the DataSource and drops the database.
 */
export async function createMigratedDataSource(): Promise<{ ds: DataSource; url: string; close: () => Promise<void> }> {
  const db = await createTestDatabase();
  const ds = new DataSource({ ...buildDataSourceOptions(db.url, 2), migrationsRun: false, logging: false } as ConstructorParameters<typeof DataSource>[0]);
  try {
    await ds.initialize();
    await ds.runMigrations();
  } catch (err) {
    if (ds.isInitialized) await ds.destroy();
    await db.drop();
    throw err;
  }
  return {
    ds,
    url: db.url,
    close: async () => {
      if (ds.isInitialized) await ds.destroy();
      await db.drop();
    },
  };
}

/** Runs SQL against a database URL (for assertions on what is stored). */
export async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(text, params);
    return r.rows as T[];
  } finally {
    await c.end();
  }
}
