import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { resolveTestRedis } from './test-redis';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgEmbedded: boolean;
    /** The run's Redis (test/support/test-redis.ts); not provided in a run of the unit project alone. */
    redisUrl: string;
  }
}

/** Projects whose tests never need Redis: a run of these alone neither looks for nor starts one. */
const PROJECTS_WITHOUT_REDIS = new Set(['unit']);

/**
 * Vitest 4 runs this file once per project of the run *and* once for the root
 * project, each through its own module runner, in the same Node process. Each
 * service is therefore made once per run: the first call starts it, kept on
 * globalThis (shared by every module runner), every call provides it, and the
 * last teardown closes it.
 */
interface Service {
  url: string;
  close(): Promise<void>;
}
interface Shared {
  service: Promise<Service>;
  users: number;
}
const shared = globalThis as typeof globalThis & Record<symbol, Shared | undefined>;

async function acquire(name: string, create: () => Promise<Service>): Promise<{ url: string; release: () => Promise<void> }> {
  const key = Symbol.for(`realtime-markets.test-${name}`);
  const s = (shared[key] ??= { service: create(), users: 0 });
  s.users++;
  let service: Service;
  try {
    service = await s.service;
  } catch (err) {
    s.users--;
    if (shared[key] === s && s.users === 0) delete shared[key];
    // One line: the message says what to install or set; the stack would only point here.
    const e = new Error((err as Error).message);
    e.stack = e.message;
    throw e;
  }
  let released = false;
  return {
    url: service.url,
    release: async () => {
      if (released) return;
      released = true;
      if (--s.users > 0) return;
      if (shared[key] === s) delete shared[key];
      await service.close();
    },
  };
}

/** A real embedded PostgreSQL in a temporary folder (when DATABASE_URL is unset). */
async function embeddedPostgres(): Promise<Service> {
  const dir = mkdtempSync(join(tmpdir(), 'rm-test-pg-'));
  try {
    const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
    return {
      url: pg.url,
      close: async () => {
        await pg.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * One PostgreSQL server for the run: DATABASE_URL's server when set (CI uses the
 * machine's), otherwise a real embedded one in a temporary folder. Every test
 * file then creates its own database on it (test/support/database.ts).
 * One Redis for the run (test/support/test-redis.ts).
 */
export default async function setup(project: TestProject) {
  const needsRedis = project.vitest.projects.some((p) => !PROJECTS_WITHOUT_REDIS.has(p.name));
  const redis = needsRedis ? await acquire('redis', () => resolveTestRedis(process.env)) : undefined;
  if (redis) project.provide('redisUrl', redis.url);

  let pg: { url: string; release: () => Promise<void> } | undefined;
  const external = process.env.DATABASE_URL;
  if (!external) {
    try {
      pg = await acquire('postgres', embeddedPostgres);
    } catch (err) {
      await redis?.release();
      throw err;
    }
  }
  project.provide('pgAdminUrl', external ?? pg!.url);
  project.provide('pgEmbedded', !external);
  return async () => {
    try {
      await pg?.release();
    } finally {
      await redis?.release();
    }
  };
}
