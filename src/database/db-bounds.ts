import { Client, type ClientConfig } from 'pg';
import { EnvironmentVariables, validateEnv } from '../config/env.validation';

/**
 * Bounds on every wait on PostgreSQL, shared by every connection the app makes:
 * the TypeORM pool (data-source.options.ts), the session store's pool
 * (SessionService) and the feed lock's dedicated connection (FeedLeaderLock).
 *
 * - `statement_timeout` (server side): a statement running longer is cancelled by
 *   the server (SQLSTATE 57014); the connection stays usable.
 * - `query_timeout` (client side, pg): a query with no answer DB_STATEMENT_TIMEOUT_MS
 *   + 1 s after it was sent fails with "Query read timeout". Works when the server
 *   is frozen or the network black-holed, where the server cannot cancel anything;
 *   the connection is then closed (BoundedPgClient), because its query is still on
 *   the wire and would otherwise come back to the pool half-done.
 * - `connectionTimeoutMillis`: opening a connection, and (pools) waiting for a free one.
 * - `idle_in_transaction_session_timeout`: a transaction left open by a lost client is
 *   ended by the server.
 * - TCP keepalive: an idle connection over a dead link is noticed by the kernel
 *   instead of being reused for ever.
 *
 * Migrations run with their own, longer bound (DB_MIGRATION_TIMEOUT_MS).
 */
export interface DbTimeouts {
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** 0: no limit. */
  migrationTimeoutMs: number;
}

/** How long after statement_timeout the client stops waiting for the server's answer. */
export const QUERY_TIMEOUT_GRACE_MS = 1000;
/** Idle time before the first TCP keepalive probe. */
const KEEPALIVE_IDLE_MS = 10_000;

type DbSettings = Pick<EnvironmentVariables, 'DB_STATEMENT_TIMEOUT_MS' | 'DB_CONNECT_TIMEOUT_MS' | 'DB_MIGRATION_TIMEOUT_MS'>;

/**
 * The bounds from the settings; without them, from the validated environment
 * (the TypeORM CLI and the one-shot commands build their options without AppConfig),
 * or the declared defaults if the environment does not validate (the entry point reports that).
 */
export function dbTimeouts(settings?: DbSettings): DbTimeouts {
  let s: DbSettings | undefined = settings;
  if (!s) {
    try {
      s = validateEnv(process.env);
    } catch {
      s = new EnvironmentVariables();
    }
  }
  return { statementTimeoutMs: s.DB_STATEMENT_TIMEOUT_MS, connectTimeoutMs: s.DB_CONNECT_TIMEOUT_MS, migrationTimeoutMs: s.DB_MIGRATION_TIMEOUT_MS };
}

/** The client-side read timeout: the longest anyone waits for one query's answer. */
export function queryTimeoutMs(t: DbTimeouts): number {
  return t.statementTimeoutMs + QUERY_TIMEOUT_GRACE_MS;
}

/** pg Client settings bounding every wait (see above). */
export function pgClientBounds(
  t: DbTimeouts,
): Pick<
  ClientConfig,
  'statement_timeout' | 'query_timeout' | 'idle_in_transaction_session_timeout' | 'connectionTimeoutMillis' | 'keepAlive' | 'keepAliveInitialDelayMillis'
> {
  return {
    statement_timeout: t.statementTimeoutMs,
    query_timeout: queryTimeoutMs(t),
    idle_in_transaction_session_timeout: Math.max(10_000, 2 * t.statementTimeoutMs),
    connectionTimeoutMillis: t.connectTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  };
}

/** pg Pool settings: the client bounds, with clients that are dropped after a read timeout. */
export function pgPoolBounds(t: DbTimeouts): ReturnType<typeof pgClientBounds> & { Client: typeof BoundedPgClient } {
  return { ...pgClientBounds(t), Client: BoundedPgClient };
}

/**
 * Ends a client's connection within `ms`: gracefully when the server answers, otherwise by
 * closing the socket (a graceful end waits for a frozen server's goodbye for ever).
 */
export async function endClient(c: Client, ms: number): Promise<void> {
  const stream = (c as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([c.end().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
  stream?.destroy();
}

const READ_TIMEOUT = 'Query read timeout';
const isReadTimeout = (err: unknown) => (err as Error | undefined)?.message === READ_TIMEOUT;

/**
 * A pg Client that closes its connection when a query hits `query_timeout`.
 * pg only stops waiting: the query stays on the wire, the next queries queue
 * behind it, and when the server comes back it runs it (a BEGIN, say) and the
 * connection returns to the pool in an unknown state. Closed instead, it is
 * dropped from the pool, and its queued queries fail at once.
 */
export class BoundedPgClient extends Client {
  // pg's overloads (text / config / Submittable, promise or callback) pass through unchanged.
  override query(...args: unknown[]): any {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res: unknown) => void;
      args[args.length - 1] = (err: unknown, res: unknown) => {
        if (isReadTimeout(err)) this.abandon();
        callback(err, res);
      };
    }
    const result = (Client.prototype.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => {
        if (isReadTimeout(err)) this.abandon();
      });
    }
    return result;
  }

  private abandon(): void {
    // Marked as ending first (pg-pool removes it on release, no 'error' event follows), then the
    // socket is closed at once: a graceful end would wait for the silent server's goodbye.
    const stream = (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    this.end().catch(() => undefined);
    stream?.destroy();
  }
}
