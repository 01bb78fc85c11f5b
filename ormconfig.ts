/**
 * Entry point for the TypeORM CLI (`npm run typeorm -- migration:show`, `migration:generate`, ...).
 * Uses the same options object as the application: DATABASE_URL when set, otherwise the
 * project's embedded PostgreSQL under DATA_DIR (joined when the app runs, started and
 * stopped again otherwise), like every other command of the project.
 */
import { join } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { buildDataSourceOptions } from './src/database/data-source.options';
import { startEmbeddedPostgres } from './src/database/embedded-postgres';

/**
 * The app's options with TypeORM's own console logger: the CLI sets `logging` on the data
 * source for each command (migration:show lists through the schema log), which a logger
 * instance such as the app's would not see.
 */
const forCli = (url: string): DataSourceOptions => ({ ...buildDataSourceOptions(url), logger: 'advanced-console' }) as DataSourceOptions;

async function dataSource(): Promise<DataSource> {
  const url = process.env.DATABASE_URL;
  if (url) return new DataSource(forCli(url));
  const embedded = await startEmbeddedPostgres({ dataDir: join(process.env.DATA_DIR || './data', 'postgres') });
  embedded.stopOnExit();
  return new DataSource(forCli(embedded.url));
}

export default dataSource();
