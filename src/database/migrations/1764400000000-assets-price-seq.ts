import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * assets.price_seq: the cluster-wide sequence number of an asset's price. The batch writer
 * advances it in the same UPDATE that stores a newer price (so it moves once per committed
 * price, in commit order) and publishes it with the tick; every API instance then sends the
 * same `seq` for the same update, and a client that reconnects anywhere can resume from it.
 * A constant default: no table rewrite (PostgreSQL 11+), and the column is not indexed, so
 * price updates stay HOT.
 */
export class AssetsPriceSeq1764400000000 implements MigrationInterface {
  name = 'AssetsPriceSeq1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assets ADD COLUMN price_seq bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE assets ADD CONSTRAINT ck_assets_price_seq CHECK (price_seq >= 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE assets DROP CONSTRAINT ck_assets_price_seq`);
    await q.query(`ALTER TABLE assets DROP COLUMN price_seq`);
  }
}
