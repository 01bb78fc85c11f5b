import { DatabaseError } from 'pg';
import { QueryFailedError } from 'typeorm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  classifyDbError,
  DatabaseUnavailableError,
  isDbTimeoutError,
  isDbUnavailableError,
  isForeignKeyViolation,
  isTransientDbError,
  isUniqueViolation,
  OutageLog,
  pgErrorCode,
  withDeadline,
} from '../../../src/database/db-errors';

/** An error as the PostgreSQL server sends it (pg's DatabaseError, with its SQLSTATE). */
function pgError(code: string, message: string): DatabaseError {
  const e = new DatabaseError(message, message.length, 'error');
  e.code = code;
  return e;
}

/** What TypeORM throws around a driver error. */
const viaTypeorm = (driverError: Error) => new QueryFailedError('SELECT 1', [], driverError);

const socketError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('database error classification (one place for REST, sockets and the feed)', () => {
  it.each([
    ['pg client read timeout (frozen server, black-holed network)', new Error('Query read timeout')],
    ['pg-pool: no free connection in time', new Error('timeout exceeded when trying to connect')],
    ['pg-pool: connect timed out', new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') })],
    ['server statement_timeout (57014)', pgError('57014', 'canceling statement due to statement timeout')],
    ['lock_timeout (55P03)', pgError('55P03', 'canceling statement due to lock timeout')],
    ['57014 through TypeORM', viaTypeorm(pgError('57014', 'canceling statement due to statement timeout'))],
    ['a read timeout through TypeORM', viaTypeorm(new Error('Query read timeout'))],
    ['our own deadline', new DatabaseUnavailableError('the database did not answer within 2000 ms')],
  ])('timeout: %s', (_what, err) => {
    expect(classifyDbError(err)).toBe('timeout');
    expect(isDbUnavailableError(err)).toBe(true);
    expect(isDbTimeoutError(err)).toBe(true);
    expect(isTransientDbError(err)).toBe(true);
  });

  it.each([
    ['connection refused', socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    [
      'connection refused on every address (AggregateError)',
      Object.assign(
        new AggregateError(
          [socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
          '',
        ),
        {
          code: 'ECONNREFUSED',
        },
      ),
    ],
    ['AggregateError without its own code', new AggregateError([socketError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')], '')],
    ['connection reset', socketError('ECONNRESET', 'read ECONNRESET')],
    ['connection lost', new Error('Connection terminated unexpectedly')],
    ['a client after a connection error', new Error('Client has encountered a connection error and is not queryable')],
    ['admin shutdown (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['cannot connect now (57P03)', pgError('57P03', 'the database system is starting up')],
    ['crash shutdown (57P02)', pgError('57P02', 'terminating connection because of crash of another server process')],
    ['too many connections (53300)', pgError('53300', 'sorry, too many clients already')],
    ['idle in transaction timeout (25P03)', pgError('25P03', 'terminating connection due to idle-in-transaction timeout')],
    ['57P01 through TypeORM', viaTypeorm(pgError('57P01', 'terminating connection due to administrator command'))],
  ])('connection: %s', (_what, err) => {
    expect(classifyDbError(err)).toBe('connection');
    expect(isDbUnavailableError(err)).toBe(true);
    expect(isDbTimeoutError(err)).toBe(false);
    expect(isTransientDbError(err)).toBe(true);
  });

  it.each([
    ['serialization failure (40001)', pgError('40001', 'could not serialize access due to concurrent update')],
    ['deadlock (40P01)', viaTypeorm(pgError('40P01', 'deadlock detected'))],
  ])('conflict (retry the transaction, not an outage): %s', (_what, err) => {
    expect(classifyDbError(err)).toBe('conflict');
    expect(isDbUnavailableError(err)).toBe(false);
    expect(isTransientDbError(err)).toBe(true);
  });

  it.each([
    ['unique violation', viaTypeorm(pgError('23505', 'duplicate key value violates unique constraint "uq_users_username"'))],
    ['missing table', viaTypeorm(pgError('42P01', 'relation "assets" does not exist'))],
    ['syntax error', pgError('42601', 'syntax error at or near "SELEC"')],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'boom'],
    ['nothing', undefined],
    ['null', null],
  ])('not a database outage: %s', (_what, err) => {
    expect(classifyDbError(err)).toBeNull();
    expect(isDbUnavailableError(err)).toBe(false);
    expect(isTransientDbError(err)).toBe(false);
  });

  it('DatabaseUnavailableError carries the code clients see', () => {
    const e = new DatabaseUnavailableError('x');
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
    expect(e).toBeInstanceOf(Error);
  });

  it('a cyclic cause chain does not loop', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(classifyDbError(a)).toBeNull();
  });
});

describe('constraint violations (pgErrorCode, isUniqueViolation, isForeignKeyViolation)', () => {
  it.each([
    ['pg error', pgError('23505', 'duplicate key value violates unique constraint "uq_portfolios_owner_name"'), '23505'],
    ['through TypeORM', viaTypeorm(pgError('23503', 'insert or update on table "positions" violates foreign key constraint')), '23503'],
    ['a socket error', socketError('ECONNRESET', 'read ECONNRESET'), 'ECONNRESET'],
    ['TypeORM around an error without a code', viaTypeorm(new Error('Query read timeout')), undefined],
    ['a plain error', new Error('23505'), undefined],
    ['a code that is not a string', Object.assign(new Error('x'), { code: 23505 }), undefined],
    ['a string', '23505', undefined],
    ['nothing', undefined, undefined],
    ['null', null, undefined],
  ])('the code of %s', (_what, err, code) => {
    expect(pgErrorCode(err)).toBe(code);
  });

  it('tells the two violations apart, however wrapped, and never calls an outage one', () => {
    const unique = pgError('23505', 'duplicate key');
    const fk = pgError('23503', 'violates foreign key constraint');
    for (const err of [unique, viaTypeorm(unique)]) {
      expect(isUniqueViolation(err)).toBe(true);
      expect(isForeignKeyViolation(err)).toBe(false);
      expect(isTransientDbError(err)).toBe(false);
    }
    for (const err of [fk, viaTypeorm(fk)]) {
      expect(isForeignKeyViolation(err)).toBe(true);
      expect(isUniqueViolation(err)).toBe(false);
    }
    for (const err of [pgError('23514', 'check violation'), pgError('57014', 'canceling statement due to statement timeout'), new Error('x'), null, 'boom']) {
      expect(isUniqueViolation(err)).toBe(false);
      expect(isForeignKeyViolation(err)).toBe(false);
    }
  });
});

describe('withDeadline', () => {
  it('passes a value or an error through', async () => {
    await expect(withDeadline(Promise.resolve(7), 1000, () => new Error('late'))).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('own')), 1000, () => new Error('late'))).rejects.toThrow('own');
  });

  it('rejects with the timeout error when the work does not settle in time', async () => {
    const never = new Promise<number>(() => undefined);
    const started = Date.now();
    const err = await withDeadline(never, 30, () => new DatabaseUnavailableError('no answer')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('OutageLog', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the first failure, then at most one line per period with the count, and one line on recovery', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const lines: string[] = [];
    const log = new OutageLog({ warn: (m: string) => lines.push(`warn ${m}`), log: (m: string) => lines.push(`log ${m}`) } as never, 10_000);
    const err = new Error('Query read timeout');
    for (let i = 0; i < 50; i++) log.failed('X', err);
    expect(lines).toEqual(['warn X: database unavailable (Query read timeout)']);
    vi.setSystemTime(new Date('2026-01-01T00:00:11Z'));
    log.failed('X', err);
    expect(lines[1]).toBe('warn X: database unavailable (Query read timeout) (49 more since the last line)');
    log.recovered('X');
    log.recovered('X');
    expect(lines.slice(2)).toEqual(['log X: database answering again']);
    log.failed('X', err);
    expect(lines).toHaveLength(4);
  });
});
