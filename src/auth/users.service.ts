import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AuthUser } from './auth-user';
import { User } from './entities/user.entity';
import { hashPassword, verifyPassword } from './passwords';

/** Accounts: creation, credential checks, lookups for the session. */
@Injectable()
export class UsersService {
  /** Verified against when the username is unknown, so both failures cost the same time. */
  private dummyHash?: Promise<string>;

  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async create(username: string, password: string, isStaff = false): Promise<AuthUser> {
    const hash = await hashPassword(password);
    const rows = (await this.users.query(
      `INSERT INTO users (username, password_hash, is_staff) VALUES ($1, $2, $3)
       ON CONFLICT (username) DO NOTHING
       RETURNING id, username, is_staff, created_at`,
      [username, hash, isStaff],
    )) as { id: number; username: string; is_staff: boolean; created_at: Date }[];
    if (rows.length === 0) throw new ConflictException(`Username "${username}" is already taken`);
    const r = rows[0];
    return { id: r.id, username: r.username, isStaff: r.is_staff, createdAt: r.created_at };
  }

  /** Grants or withdraws staff rights; null when there is no such user. */
  async setStaff(username: string, isStaff: boolean): Promise<AuthUser | null> {
    const rows = (await this.users.query(`UPDATE users SET is_staff = $2 WHERE username = $1 RETURNING id, username, is_staff, created_at`, [
      username,
      isStaff,
    ])) as [{ id: number; username: string; is_staff: boolean; created_at: Date }[], number];
    const r = rows[0]?.[0];
    return r ? { id: r.id, username: r.username, isStaff: r.is_staff, createdAt: r.created_at } : null;
  }

  /** The user for these credentials, or null (unknown user and wrong password alike). */
  async verifyCredentials(username: string, password: string): Promise<AuthUser | null> {
    const user = await this.users.findOne({
      where: { username },
      select: { id: true, username: true, isStaff: true, createdAt: true, passwordHash: true },
    });
    if (!user) {
      this.dummyHash ??= hashPassword('not-a-real-password-' + Math.random());
      await verifyPassword(await this.dummyHash, password);
      return null;
    }
    if (!(await verifyPassword(user.passwordHash, password))) return null;
    return { id: user.id, username: user.username, isStaff: user.isStaff, createdAt: user.createdAt };
  }

  async findById(id: number): Promise<AuthUser | null> {
    if (!Number.isSafeInteger(id) || id <= 0 || id > 2_147_483_647) return null;
    const u = await this.users.findOne({ where: { id } });
    return u ? { id: u.id, username: u.username, isStaff: u.isStaff, createdAt: u.createdAt } : null;
  }
}
