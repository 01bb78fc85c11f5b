import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from '../../src/database/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgEmbedded: boolean;
  }
}

/**
 * One PostgreSQL server for the run: DATABASE_URL's server when set (CI uses the
 * machine's), otherwise a real embedded one in a temporary folder. Every test
 * file then creates its own database on it (test/support/database.ts).
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedPostgresHandle | undefined;
  let dir: string | undefined;
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'rm-test-pg-'));
    embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
    url = embedded.url;
  }
  project.provide('pgAdminUrl', url);
  project.provide('pgEmbedded', !!embedded);
  return async () => {
    await embedded?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
