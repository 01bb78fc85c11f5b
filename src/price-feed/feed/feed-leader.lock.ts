import { Injectable, Logger } from '@nestjs/common';
import type { Client } from 'pg';
import type { QueryRunner } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { BoundedPgClient, DbTimeouts, dbTimeouts, endClient, pgClientBounds } from '../../database/db-bounds';
import { DatabaseUrlProvider } from '../../database/database-url.provider';

/** Advisory lock key (two int4 keys: namespace "RMPF", lock 1). Advisory locks are per database. */
const FEED_LOCK_CLASS = 0x524d5046;
const FEED_LOCK_ID = 1;

class LostLeadershipError extends Error {
  constructor() {
    super('this feed no longer holds the price-feed advisory lock');
  }
}

/**
 * "Only one feed writes at a time": a PostgreSQL session advisory lock held
 * on a dedicated connection. A second feed polls as standby and takes over
 * when the holder's connection goes away (process killed, connection
 * terminated). A lost connection drops leadership at once and reconnects
 * with backoff. Each batch transaction checks (fence) that this connection
 * still holds the lock before writing.
 */
@Injectable()
export class FeedLeaderLock {
  private readonly logger = new Logger('FeedLeaderLock');
  private client?: Client;
  private pid?: number;
  private held = false;
  private stopped = true;
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private standbyLogged = false;
  private pollMs = 1000;
  private lastFailureLogAt = 0;
  private readonly listeners = new Set<(held: boolean) => void>();
  /** Every query on the lock connection, its connect and its close are bounded (DB_* settings). */
  private readonly timeouts: DbTimeouts;

  constructor(
    private readonly dbUrl: DatabaseUrlProvider,
    config: AppConfig,
  ) {
    this.timeouts = dbTimeouts(config);
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Called with true when leadership is gained, false when lost. */
  onChange(fn: (held: boolean) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Starts trying to take the lock (every `pollMs` while another feed holds it). */
  start(pollMs: number): void {
    this.pollMs = pollMs;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    this.setHeld(false);
    if (c) {
      try {
        await c.query('SELECT pg_advisory_unlock($1, $2)', [FEED_LOCK_CLASS, FEED_LOCK_ID]);
      } catch {
        // the connection is gone (or did not answer within the query timeout, and was closed): so is the lock
      }
      await endClient(c, this.timeouts.connectTimeoutMs);
    }
  }

  /** Write fence: throws LostLeadershipError unless our lock connection still holds the lock. */
  readonly fence = async (runner: QueryRunner): Promise<void> => {
    if (!this.held || !this.pid) throw new LostLeadershipError();
    const rows = (await runner.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid AND objsubid = 2 AND pid = $3 AND granted`,
      [FEED_LOCK_CLASS, FEED_LOCK_ID, this.pid],
    )) as unknown[];
    if (rows.length === 0) {
      this.logger.warn('Lock connection no longer holds the advisory lock');
      this.drop();
      throw new LostLeadershipError();
    }
  };

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.attempt(), ms);
    this.timer.unref?.();
  }

  private async attempt(): Promise<void> {
    if (this.stopped || this.held) return;
    try {
      if (!this.client) await this.connect();
      const [row] = (
        await this.client!.query<{ ok: boolean; pid: number }>('SELECT pg_try_advisory_lock($1, $2) AS ok, pg_backend_pid() AS pid', [
          FEED_LOCK_CLASS,
          FEED_LOCK_ID,
        ])
      ).rows;
      this.failures = 0;
      if (this.stopped) return;
      if (row.ok) {
        this.pid = row.pid;
        this.standbyLogged = false;
        this.logger.log(`Holding the price-feed lock (backend ${row.pid}): this feed writes prices`);
        this.setHeld(true);
        this.watch();
        return;
      }
      if (!this.standbyLogged) {
        this.logger.log('Another price feed holds the lock: standing by');
        this.standbyLogged = true;
      }
      this.schedule(this.pollMs);
    } catch (err) {
      this.failures++;
      const delay = Math.min(5000, 200 * 2 ** Math.min(this.failures, 5));
      // A long outage is one line a minute, not one per attempt.
      const now = Date.now();
      if (this.failures === 1 || now - this.lastFailureLogAt >= 60_000) {
        this.lastFailureLogAt = now;
        const count = this.failures > 1 ? ` (${this.failures} failed attempts so far; logged at most once a minute)` : '';
        this.logger.warn(`Lock connection failed (${(err as Error).message}); retrying in ${delay} ms${count}`);
      }
      this.drop();
      this.schedule(delay);
    }
  }

  private async connect(): Promise<void> {
    // Bounded like every connection of the app: a frozen server or a dead link fails the lock's queries
    // within the query timeout (then leadership is dropped, as for a lost connection), never hangs them.
    const c: Client = new BoundedPgClient({
      connectionString: await this.dbUrl.resolve(),
      application_name: 'realtime-markets-feed-lock',
      ...pgClientBounds(this.timeouts),
    });
    c.on('error', (err) => {
      if (this.client !== c) return;
      this.logger.warn(`Lock connection lost: ${err.message}`);
      this.drop();
      this.schedule(200);
    });
    c.on('end', () => {
      if (this.client !== c || this.stopped) return;
      this.logger.warn('Lock connection closed');
      this.drop();
      this.schedule(200);
    });
    this.client = c;
    await c.connect();
  }

  /** Periodically checks the lock connection so a dead one is noticed even without traffic. */
  private watch(): void {
    const c = this.client;
    const tick = async () => {
      if (this.stopped || this.client !== c || !this.held) return;
      try {
        await c!.query('SELECT 1');
        this.timer = setTimeout(() => void tick(), Math.max(500, Math.min(this.pollMs, 5000)));
        this.timer.unref?.();
      } catch (err) {
        if (this.client !== c) return;
        this.logger.warn(`Lock connection check failed: ${(err as Error).message}`);
        this.drop();
        this.schedule(200);
      }
    };
    this.timer = setTimeout(() => void tick(), Math.max(500, Math.min(this.pollMs, 5000)));
    this.timer.unref?.();
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    this.pid = undefined;
    if (c) void endClient(c, this.timeouts.connectTimeoutMs);
    this.setHeld(false);
  }

  private setHeld(v: boolean): void {
    if (this.held === v) return;
    this.held = v;
    if (!v && !this.stopped) this.logger.warn('Lost the price-feed lock: not writing until it is held again');
    for (const fn of this.listeners) {
      try {
        fn(v);
      } catch {
        // listeners must not break the lock loop
      }
    }
  }
}
