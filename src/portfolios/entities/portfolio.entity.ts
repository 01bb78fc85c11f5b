import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, OneToMany, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { User } from '../../auth/entities/user.entity';
import type { Position } from './position.entity';

@Entity({ name: 'portfolios' })
@Unique('uq_portfolios_owner_name', ['ownerId', 'name'])
export class Portfolio {
  @PrimaryGeneratedColumn({ type: 'integer' }) id: number;

  @Index('idx_portfolios_owner')
  @Column({ name: 'owner_id', type: 'integer' })
  ownerId: number;

  @ManyToOne(() => User, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'owner_id', foreignKeyConstraintName: 'portfolios_owner_id_fkey' })
  owner?: User;

  @Column({ type: 'varchar', length: 100 }) name: string;

  @Column({ type: 'text', default: '' }) description: string;

  @Column({ name: 'base_currency', type: 'varchar', length: 3, default: 'USD' }) baseCurrency: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;

  @OneToMany('Position', 'portfolio') positions?: Position[];
}
