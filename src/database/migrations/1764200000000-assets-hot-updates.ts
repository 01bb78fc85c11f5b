import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Price updates rewrite every asset row each feed run. With no index on a
 * column they change (last_updated's index was used by no query) and free room
 * on each page (fillfactor 50), PostgreSQL updates the rows in place (HOT
 * updates, no index maintenance): the 5,000-row batch UPDATE went from
 * 170–320 ms to about 20 ms in `npm run bench` (docs/performance.md).
 */
export class AssetsHotUpdates1764200000000 implements MigrationInterface {
  name = 'AssetsHotUpdates1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS idx_assets_last_updated`);
    await q.query(`ALTER TABLE assets SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assets RESET (fillfactor)`);
    await q.query(`CREATE INDEX idx_assets_last_updated ON assets (last_updated)`);
  }
}
