import { Column, CreateDateColumn, Entity, Index, Check, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Asset } from '../../assets/entities/asset.entity';
import { numericColumn, priceColumn, trimNumeric } from '../../database/decimal.transformer';
import { Portfolio } from './portfolio.entity';

@Entity({ name: 'positions' })
@Check('ck_positions_quantity', 'quantity >= 0')
@Check('ck_positions_average_cost', 'average_cost >= 0')
@Unique('uq_positions_portfolio_asset', ['portfolioId', 'assetId'])
export class Position {
  @PrimaryGeneratedColumn({ type: 'integer' }) id: number;

  @Column({ name: 'portfolio_id', type: 'integer' }) portfolioId: number;

  @ManyToOne(() => Portfolio, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'portfolio_id', foreignKeyConstraintName: 'positions_portfolio_id_fkey' })
  portfolio?: Portfolio;

  @Index('idx_positions_asset')
  @Column({ name: 'asset_id', type: 'integer' })
  assetId: number;

  @ManyToOne(() => Asset, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'asset_id', foreignKeyConstraintName: 'positions_asset_id_fkey' })
  asset?: Asset;

  @Column({ ...numericColumn, transformer: trimNumeric }) quantity: string;

  @Column({ name: 'average_cost', ...priceColumn, transformer: trimNumeric }) averageCost: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}
