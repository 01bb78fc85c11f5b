import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { priceColumn, numericColumn, trimNumeric } from '../../database/decimal.transformer';

export const ASSET_TYPES = ['STOCK', 'ETF', 'CRYPTO', 'FOREX', 'FUND', 'BOND'] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

@Entity({ name: 'assets' })
@Check('ck_assets_asset_type', `asset_type IN ('STOCK','ETF','CRYPTO','FOREX','FUND','BOND')`)
@Check('ck_assets_current_price', 'current_price IS NULL OR current_price > 0')
@Check('ck_assets_price_seq', 'price_seq >= 0')
export class Asset {
  @PrimaryGeneratedColumn({ type: 'integer' }) id: number;

  @Column({ type: 'varchar', length: 32, unique: true }) symbol: string;

  @Column({ type: 'varchar', length: 200 }) name: string;

  @Index('idx_assets_asset_type')
  @Column({ name: 'asset_type', type: 'varchar', length: 10 })
  assetType: AssetType;

  @Column({ type: 'varchar', length: 10, default: 'USD' }) currency: string;

  @Column({ type: 'varchar', length: 50, nullable: true }) exchange: string | null;

  @Column({ name: 'current_price', ...priceColumn, nullable: true, transformer: trimNumeric })
  currentPrice: string | null;

  @Column({ name: 'previous_close', ...priceColumn, nullable: true, transformer: trimNumeric })
  previousClose: string | null;

  @Column({ name: 'day_high', ...priceColumn, nullable: true, transformer: trimNumeric }) dayHigh: string | null;

  @Column({ name: 'day_low', ...priceColumn, nullable: true, transformer: trimNumeric }) dayLow: string | null;

  @Column({ ...numericColumn, nullable: true, transformer: trimNumeric }) volume: string | null;

  @Column({ name: 'last_updated', type: 'timestamptz', nullable: true })
  lastUpdated: Date | null;

  @Column({ type: 'varchar', length: 50, nullable: true }) source: string | null;

  /** The cluster-wide sequence of the current price: advanced by the batch writer with each newer price (the `seq` clients see). */
  @Column({
    name: 'price_seq',
    type: 'bigint',
    default: 0,
    transformer: { to: (v: number | undefined) => v, from: (v: string | null) => (v == null ? 0 : Number(v)) },
  })
  priceSeq: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
