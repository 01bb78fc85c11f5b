import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';

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
