import type { Logger } from '@nestjs/common';

/**
 * The one place that says what a database error means for the caller:
 *
 * - `timeout`: the database did not answer in time (pg's client-side `query_timeout`,
 *   a connection that could not be made or taken from the pool within
 *   DB_CONNECT_TIMEOUT_MS, the server's `statement_timeout`, a lock wait). A frozen
 *   server or a black-holed network ends here. Retrying at once costs a whole timeout again.
 * - `connection`: the connection or the server went away (refused, reset, terminated,
 *   shutting down, starting up, too many connections). Worth retrying once it is back.
 * - `conflict`: a serialization failure or deadlock: retry the transaction.
 *
 * `timeout` and `connection` mean "the service is unavailable": clients get
 * SERVICE_UNAVAILABLE (realtime) or HTTP 503 (REST), never INTERNAL / 500.
 * Anything else (a constraint, a missing table, bad SQL) is a real error; the constraint
 * violations callers turn into answers (409, 404) are told by `isUniqueViolation` and
 * `isForeignKeyViolation` below (`pgErrorCode`: the SQLSTATE however it is wrapped).
 */
export type DbFailureKind = 'timeout' | 'connection' | 'conflict';

/** SQLSTATEs: 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout). */
const TIMEOUT_CODES = new Set(['57014', '55P03']);
/**
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 57P05 idle_session_timeout,
 * 25P03 idle_in_transaction_session_timeout, class 08 connection exceptions, 53300 too_many_connections,
 * 53000 insufficient_resources; and the socket errors of a connection that cannot be made or was lost.
 */
const CONNECTION_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57P05',
  '25P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300',
  '53000',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** 40001 serialization_failure, 40P01 deadlock_detected. */
const CONFLICT_CODES = new Set(['40001', '40P01']);

/** pg / pg-pool messages that carry no code. */
const TIMEOUT_TEXT =
  /Query read timeout|timeout exceeded when trying to connect|Connection terminated due to connection timeout|canceling statement due to (statement|lock) timeout/i;
const CONNECTION_TEXT =
  /Connection terminated|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|connection error|terminating connection|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|Client was closed|not queryable|Connection is closed|server closed the connection|Cannot use a pool after calling end/i;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  driverError?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The error, what it wraps (TypeORM's driverError, `cause`, an AggregateError's errors), a few levels deep. */
function* chain(err: unknown, depth = 0): Generator<ErrorLike> {
  if (!err || typeof err !== 'object' || depth > 4) return;
  const e = err as ErrorLike;
  yield e;
  yield* chain(e.driverError, depth + 1);
  yield* chain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors.slice(0, 4)) yield* chain(inner, depth + 1);
}

/** What kind of database failure this is, or null when it is not about reaching the database. */
export function classifyDbError(err: unknown): DbFailureKind | null {
  if (err instanceof DatabaseUnavailableError) return err.kind;
  let connection = false;
  let conflict = false;
  for (const e of chain(err)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    if ((code && TIMEOUT_CODES.has(code)) || TIMEOUT_TEXT.test(message)) return 'timeout';
    if ((code && CONNECTION_CODES.has(code)) || CONNECTION_TEXT.test(message)) connection = true;
    if (code && CONFLICT_CODES.has(code)) conflict = true;
  }
  return connection ? 'connection' : conflict ? 'conflict' : null;
}

/** The database cannot be used right now (timeout or connection): SERVICE_UNAVAILABLE / 503. */
export function isDbUnavailableError(err: unknown): boolean {
  const kind = classifyDbError(err);
  return kind === 'timeout' || kind === 'connection';
}

/** A database error worth retrying later (the data was not the problem). */
export function isTransientDbError(err: unknown): boolean {
  return classifyDbError(err) !== null;
}

/** The database did not answer in time: retrying at once would wait as long again. */
export function isDbTimeoutError(err: unknown): boolean {
  return classifyDbError(err) === 'timeout';
}

/** SQLSTATEs the application answers to itself (a constraint the request broke, not an outage). */
const PG_UNIQUE_VIOLATION = '23505';
const PG_FOREIGN_KEY_VIOLATION = '23503';

/**
 * The code of a failed statement: the SQLSTATE of pg's DatabaseError, also through TypeORM's
 * QueryFailedError (its driverError); a socket error's code (ECONNRESET…) otherwise; undefined
 * when there is none. Looks at the error itself only (no cause chain: a constraint violation
 * is the statement's own error).
 */
export function pgErrorCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as ErrorLike;
  const driver = e.driverError as ErrorLike | null | undefined;
  if (driver && typeof driver === 'object' && typeof driver.code === 'string') return driver.code;
  return typeof e.code === 'string' ? e.code : undefined;
}

/** A unique constraint refused the row (23505). */
export function isUniqueViolation(err: unknown): boolean {
  return pgErrorCode(err) === PG_UNIQUE_VIOLATION;
}

/** A foreign key refused the row: what it refers to is gone (23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  return pgErrorCode(err) === PG_FOREIGN_KEY_VIOLATION;
}

/** Typed "the database is unavailable": what a bounded wait throws when its deadline passes. */
export class DatabaseUnavailableError extends Error {
  /** The code clients see (realtime error code, HTTP 503 error name, handshake refusal). */
  readonly code = 'SERVICE_UNAVAILABLE' as const;

  constructor(
    message: string,
    readonly kind: 'timeout' | 'connection' = 'timeout',
  ) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Resolves or rejects as `work` does, or rejects with `onTimeout()` after `ms`
 * (the work goes on, its late outcome ignored). The timer never outlives the wait.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref?.();
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Logs database outages without flooding: the first failure at once, then at most
 * one line per `everyMs` (with how many were not logged), and one line when a
 * call succeeds again (`recovered()`).
 */
export class OutageLog {
  private down = false;
  private lastAt = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'>,
    private readonly everyMs = 10_000,
  ) {}

  failed(what: string, err: unknown): void {
    const now = Date.now();
    if (this.down && now - this.lastAt < this.everyMs) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed > 0 ? ` (${this.suppressed} more since the last line)` : '';
    this.down = true;
    this.lastAt = now;
    this.suppressed = 0;
    this.logger.warn(`${what}: database unavailable (${(err as Error)?.message ?? String(err)})${more}`);
  }

  recovered(what: string): void {
    if (!this.down) return;
    this.down = false;
    this.suppressed = 0;
    this.logger.log(`${what}: database answering again`);
  }
}
