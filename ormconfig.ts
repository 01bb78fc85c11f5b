/**
 * Entry point for the TypeORM CLI (`npm run typeorm -- migration:show`, `migration:generate`, ...).
 * Uses the same options object as the application. The CLI needs an explicit
 * server: set DATABASE_URL (the app itself starts an embedded one when it is unset;
 * `npm run migration:run` does too).
 */
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './src/database/data-source.options';

const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('ormconfig.ts: set DATABASE_URL (e.g. postgres://user@127.0.0.1:5432/db) to use the TypeORM CLI');
}

export default new DataSource(buildDataSourceOptions(url));
