import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn } from 'typeorm';
import type { Portfolio } from '../../portfolios/entities/portfolio.entity';

@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn({ type: 'integer' }) id: number;

  @Column({ type: 'varchar', length: 150, unique: true }) username: string;

  @Column({ name: 'password_hash', type: 'varchar', length: 255, select: false }) passwordHash: string;

  @Column({ name: 'is_staff', type: 'boolean', default: false }) isStaff: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;

  @OneToMany('Portfolio', 'owner') portfolios?: Portfolio[];
}
