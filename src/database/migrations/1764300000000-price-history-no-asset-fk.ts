import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The foreign key price_history.asset_id → assets(id) ran one RI trigger per
 * inserted history row (86–270 ms of a 5,000-row tick INSERT). Every writer of
 * price_history (PriceBatchWriter.write / writeDaily) takes asset_id from a
 * JOIN on assets, so the ids are valid by construction and the check is
 * dropped.
 *
 * What the foreign key's ON DELETE CASCADE did is kept, at the cost of the
 * (rare) deletes instead of the (constant) inserts: deleting assets deletes
 * their history in the same statement (a statement-level trigger), and
 * TRUNCATE assets truncates price_history too.
 */
export class PriceHistoryNoAssetFk1764300000000 implements MigrationInterface {
  name = 'PriceHistoryNoAssetFk1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE price_history DROP CONSTRAINT price_history_asset_id_fkey`);
    await q.query(`
      CREATE FUNCTION assets_delete_history() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM price_history h USING deleted_assets d WHERE h.asset_id = d.id;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER trg_assets_delete_history AFTER DELETE ON assets
        REFERENCING OLD TABLE AS deleted_assets FOR EACH STATEMENT EXECUTE FUNCTION assets_delete_history()`);
    await q.query(`
      CREATE FUNCTION assets_truncate_history() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        TRUNCATE price_history;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER trg_assets_truncate_history AFTER TRUNCATE ON assets FOR EACH STATEMENT EXECUTE FUNCTION assets_truncate_history()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER trg_assets_truncate_history ON assets`);
    await q.query(`DROP FUNCTION assets_truncate_history()`);
    await q.query(`DROP TRIGGER trg_assets_delete_history ON assets`);
    await q.query(`DROP FUNCTION assets_delete_history()`);
    // Rows the cascade would have removed (none unless written around the writers' JOIN).
    await q.query(`DELETE FROM price_history h WHERE NOT EXISTS (SELECT 1 FROM assets a WHERE a.id = h.asset_id)`);
    await q.query(`ALTER TABLE price_history ADD CONSTRAINT price_history_asset_id_fkey FOREIGN KEY (asset_id) REFERENCES assets(id) ON DELETE CASCADE`);
  }
}
