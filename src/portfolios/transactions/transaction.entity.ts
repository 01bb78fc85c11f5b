import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Asset } from '../../assets/entities/asset.entity';
import { numericColumn, priceColumn, trimNumeric } from '../../database/decimal.transformer';
import { Portfolio } from '../entities/portfolio.entity';
import type { TransactionType } from '../ledger/ledger.types';

/**
 * One entry of a portfolio's ledger (issue 15; meanings in ../ledger/ledger.types.ts). The
 * portfolio's `positions` rows are derived from these (PortfolioLedgerService replays them after
 * every change). The holding is referenced by `asset_id` (like positions; RESTRICT, so an asset
 * with transactions cannot be deleted), null for DEPOSIT / WITHDRAWAL and a FEE not tied to a holding.
 * Schema: migration 1764500000000-transactions.
 */
@Entity({ name: 'transactions' })
@Check('ck_transactions_type', `type IN ('BUY','SELL','DIVIDEND','FEE','SPLIT','DEPOSIT','WITHDRAWAL')`)
@Check('ck_transactions_quantity', 'quantity IS NULL OR quantity > 0')
@Check('ck_transactions_price', 'price IS NULL OR price >= 0')
@Check('ck_transactions_fee', 'fee >= 0')
@Index('idx_transactions_portfolio_date', ['portfolioId', 'date', 'id'])
export class Transaction {
  @PrimaryGeneratedColumn({ type: 'integer' }) id: number;

  @Column({ name: 'portfolio_id', type: 'integer' }) portfolioId: number;

  @ManyToOne(() => Portfolio, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'portfolio_id', foreignKeyConstraintName: 'transactions_portfolio_id_fkey' })
  portfolio?: Portfolio;

  @Column({ type: 'varchar', length: 10 }) type: TransactionType;

  @Index('idx_transactions_asset')
  @Column({ name: 'asset_id', type: 'integer', nullable: true })
  assetId: number | null;

  @ManyToOne(() => Asset, { onDelete: 'RESTRICT', nullable: true })
  @JoinColumn({ name: 'asset_id', foreignKeyConstraintName: 'transactions_asset_id_fkey' })
  asset?: Asset | null;

  @Column({ ...numericColumn, nullable: true, transformer: trimNumeric }) quantity: string | null;

  @Column({ ...priceColumn, nullable: true, transformer: trimNumeric }) price: string | null;

  @Column({ ...priceColumn, default: 0, transformer: trimNumeric }) fee: string;

  @Column({ type: 'varchar', length: 3 }) currency: string;

  /** A calendar day, `YYYY-MM-DD` (no time, no time zone). */
  @Column({ type: 'date' }) date: string;

  @Column({ type: 'varchar', length: 500, nullable: true }) note: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
