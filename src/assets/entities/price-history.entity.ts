import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { numericColumn, priceColumn, trimNumeric } from '../../database/decimal.transformer';
import { Asset } from './asset.entity';

export type HistoryInterval = '1d' | 'tick';

@Entity({ name: 'price_history' })
@Check('ck_price_history_interval', `"interval" IN ('1d','tick')`)
@Unique('uq_price_history_asset_interval_ts', ['assetId', 'interval', 'timestamp'])
export class PriceHistory {
  @PrimaryGeneratedColumn({ type: 'bigint' }) id: string;

  @Column({ name: 'asset_id', type: 'integer' }) assetId: number;

  // No foreign key in the database (migration 1764300000000: one RI check per tick was the ingest's
  // largest cost); deleting an asset still deletes its history, through a trigger.
  @ManyToOne(() => Asset, { createForeignKeyConstraints: false })
  @JoinColumn({ name: 'asset_id' })
  asset?: Asset;

  @Column({ type: 'timestamptz' }) timestamp: Date;

  @Column({ type: 'varchar', length: 4 }) interval: HistoryInterval;

  @Column({ ...priceColumn, transformer: trimNumeric }) open: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) high: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) low: string;
  @Column({ ...priceColumn, transformer: trimNumeric }) close: string;
  @Column({ ...numericColumn, default: 0, transformer: trimNumeric }) volume: string;
}
