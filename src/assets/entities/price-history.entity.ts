import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { numericColumn, priceColumn, trimNumeric } from '../../database/decimal.transformer';
import { Asset } from './asset.entity';

export type HistoryInterval = '1d' | 'tick';

@Entity({ name: 'price_history' })
@Check('ck_price_history_interval', `"interval" IN ('1d','tick')`)
export class PriceHistory {
  // Keyed by its natural key, without a surrogate id (migration 1764800000000: one index per tick row, not two).
  @PrimaryColumn({ name: 'asset_id', type: 'integer', primaryKeyConstraintName: 'pk_price_history' }) assetId: number;

  // No foreign key in the database (migration 1764300000000: one RI check per tick was the ingest's
  // largest cost); deleting an asset still deletes its history, through a trigger.
  @ManyToOne(() => Asset, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'asset_id' })
  asset?: Asset;

  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: 'pk_price_history' }) timestamp: Date;

  @PrimaryColumn({ type: 'varchar', length: 4, primaryKeyConstraintName: 'pk_price_history' }) interval: HistoryInterval;

  @Column({ ...priceColumn, transformer: trimNumeric }) open: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) high: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) low: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) close: string;
  @Column({ ...numericColumn, default: 0, transformer: trimNumeric }) volume: string;
}
