/**
 * Entry point for the TypeORM CLI (`npm run typeorm -- migration:show`, `migration:generate`, ...).
 * Uses the same options object as the application: DATABASE_URL when set, otherwise the
 * project's embedded PostgreSQL under DATA_DIR (joined when the app runs, started and
 * stopped again otherwise), like every other command of the project.
 */
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './src/database/data-source.options';
import { startEmbeddedPostgres } from './src/database/embedded-postgres';

async function dataSource(): Promise<DataSource> {
  const url = process.env.DATABASE_URL;
  if (url) return new DataSource(buildDataSourceOptions(url));
  const embedded = await startEmbeddedPostgres({ dataDir: join(process.env.DATA_DIR || './data', 'postgres') });
  embedded.stopOnExit();
  return new DataSource(buildDataSourceOptions(embedded.url));
}

export default dataSource();
