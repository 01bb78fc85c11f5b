import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import connectPgSimple from 'connect-pg-simple';
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Pool } from 'pg';
import { readOrCreateSecretFile } from '../common/secret-file';
import { AppConfig } from '../config/app-config';
import { dbTimeouts, pgPoolBounds } from '../database/db-bounds';
import { OutageLog, withDeadline } from '../database/db-errors';
import { DatabaseUrlProvider } from '../database/database-url.provider';

export const SESSION_COOKIE = 'rm.sid';

export interface SessionIdentity {
  userId: number;
  sessionId: string;
}

/**
 * express-session with a PostgreSQL store (connect-pg-simple, table `session`).
 * The same middleware serves HTTP requests and WebSocket/Socket.IO handshakes,
 * so a socket is authenticated exactly as a REST call is.
 */
@Injectable()
export class SessionService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('Session');
  private pool?: Pool;
  private handler?: RequestHandler;
  private store?: session.Store;
  /** One line when the store stops answering the re-checks, one when it is back (not one per session per heartbeat). */
  private readonly recheckOutage = new OutageLog(this.logger, 60_000);

  constructor(
    private readonly config: AppConfig,
    private readonly db: DatabaseUrlProvider,
  ) {}

  async middleware(): Promise<RequestHandler> {
    if (this.handler) return this.handler;
    // Its own small pool, bounded like every connection of the app (statement, read and connect
    // timeouts, keepalive): a session read on a stalled database fails within DB_STATEMENT_TIMEOUT_MS + 1 s.
    this.pool = new Pool({ connectionString: await this.db.resolve(), max: 5, ...pgPoolBounds(dbTimeouts(this.config)) });
    this.pool.on('error', (err) => this.logger.warn(`session pool: ${err.message}`));
    const PgStore = connectPgSimple(session);
    this.store = new PgStore({
      pool: this.pool,
      errorLog: (what: unknown, err?: unknown) => this.logger.warn(`session store: ${String(what)} ${(err as Error)?.message ?? ''}`.trim()),
      tableName: 'session',
      createTableIfMissing: false,
      pruneSessionInterval: 15 * 60,
      ttl: this.config.SESSION_MAX_AGE,
    });
    this.handler = session({
      name: SESSION_COOKIE,
      secret: this.secret(),
      store: this.store,
      resave: false,
      saveUninitialized: false,
      rolling: false,
      proxy: this.config.trustProxy !== false ? true : undefined,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: 'auto',
        maxAge: this.config.SESSION_MAX_AGE * 1000,
      },
    });
    return this.handler;
  }

  /**
   * Reads the session of an HTTP upgrade / handshake request without writing
   * anything back. Resolves to the logged-in user, or null for anonymous.
   */
  async identify(req: IncomingMessage): Promise<SessionIdentity | null> {
    const mw = await this.middleware();
    const r = req as IncomingMessage & { session?: session.Session & { passport?: { user?: number } }; sessionID?: string };
    if (!r.session) {
      const res = { getHeader: () => undefined, setHeader: () => undefined, end: () => undefined, on: () => undefined } as unknown as ServerResponse;
      await new Promise<void>((resolve, reject) => mw(r as never, res as never, (err?: unknown) => (err ? reject(err) : resolve())));
    }
    const userId = r.session?.passport?.user;
    if (typeof userId !== 'number' || !r.sessionID) return null;
    return { userId, sessionId: r.sessionID };
  }

  /** Is this session still alive in the store (not logged out, not expired)? */
  /**
   * A store that cannot be read (database restarting) answers true: an
   * outage must not log everyone out; logouts still arrive on the bus, and the
   * next check after the outage catches expired sessions.
   */
  async isActive(sessionId: string): Promise<boolean> {
    await this.middleware();
    return new Promise((resolve) =>
      this.store!.get(sessionId, (err, sess) => {
        if (err) {
          this.recheckOutage.failed('Session store re-check (sessions are kept meanwhile)', err);
          resolve(true);
          return;
        }
        this.recheckOutage.recovered('Session store re-check');
        resolve(!!sess && !!(sess as { passport?: { user?: number } }).passport?.user);
      }),
    );
  }

  private secret(): string {
    if (this.config.SESSION_SECRET) return this.config.SESSION_SECRET;
    // Development: generate once and keep it beside the data so sessions survive restarts.
    const file = join(this.config.DATA_DIR, 'session-secret');
    const { secret, created } = readOrCreateSecretFile(file, 'SESSION_SECRET');
    if (created) this.logger.warn(`SESSION_SECRET is not set: generated one in ${file} (set SESSION_SECRET in production)`);
    return secret;
  }

  /** Before any onApplicationShutdown hook, so the pool is closed before an embedded PostgreSQL stops. */
  async beforeApplicationShutdown(): Promise<void> {
    // Bounded: ending a pool waits for every connection's goodbye, which a stalled server never sends.
    const ms = dbTimeouts(this.config).connectTimeoutMs;
    await withDeadline(this.pool?.end() ?? Promise.resolve(), ms, () => new Error('session pool end')).catch(() => undefined);
  }
}
