import { createServer, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { BoundedPgClient, dbTimeouts, pgClientBounds, pgPoolBounds, queryTimeoutMs } from '../../../src/database/db-bounds';
import { poll } from '../../support/poll';

/**
 * A loopback stand-in for a PostgreSQL server that froze after the connection
 * was made: it completes the start-up (AuthenticationOk, ReadyForQuery) and then
 * never answers a query.
 */
async function silentServer(): Promise<{ port: number; sockets: Set<Socket>; closed: () => number; server: Server }> {
  const sockets = new Set<Socket>();
  let closedCount = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.once('close', () => {
      sockets.delete(s);
      closedCount++;
    });
    let started = false;
    s.on('data', () => {
      if (started) return; // queries: no answer, ever
      started = true;
      const auth = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]); // 'R' AuthenticationOk
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]); // 'Z' ReadyForQuery, idle
      s.write(Buffer.concat([auth, ready]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : 0, sockets, closed: () => closedCount, server };
}

describe('BoundedPgClient', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it('closes its connection when a query gets no answer within query_timeout (a plain pg Client keeps it, stuck)', async () => {
    const srv = await silentServer();
    cleanup.push(() => new Promise<void>((r) => srv.server.close(() => r())));
    cleanup.push(() => srv.sockets.forEach((s) => s.destroy()));
    const opts = { host: '127.0.0.1', port: srv.port, user: 'u', database: 'd', query_timeout: 100, connectionTimeoutMillis: 1000 };

    const plain = new Client(opts);
    plain.on('error', () => undefined);
    await plain.connect();
    await expect(plain.query('SELECT 1')).rejects.toThrow('Query read timeout');
    // pg only stopped waiting: the socket stays open with the query on the wire.
    expect(srv.sockets.size).toBe(1);
    cleanup.push(() => void plain.end().catch(() => undefined));

    const bounded = new BoundedPgClient(opts);
    bounded.on('error', () => undefined);
    await bounded.connect();
    expect(srv.sockets.size).toBe(2);
    const started = Date.now();
    await expect(bounded.query('SELECT 1')).rejects.toThrow('Query read timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    await poll('the bounded client closed its connection', () => srv.closed() === 1, 2000);
    // And it is not usable any more: the next query fails at once instead of queueing behind the lost one.
    await expect(bounded.query('SELECT 1')).rejects.toThrow(/not queryable|terminated|closed/i);
  });

  it('the callback form is bounded the same way', async () => {
    const srv = await silentServer();
    cleanup.push(() => new Promise<void>((r) => srv.server.close(() => r())));
    cleanup.push(() => srv.sockets.forEach((s) => s.destroy()));
    const c = new BoundedPgClient({ host: '127.0.0.1', port: srv.port, user: 'u', database: 'd', query_timeout: 100 });
    c.on('error', () => undefined);
    await c.connect();
    const err = await new Promise<Error | null>((resolve) => c.query('SELECT 1', (e: Error | null) => resolve(e)));
    expect(err?.message).toBe('Query read timeout');
    await poll('the connection was closed', () => srv.closed() === 1, 2000);
  });

  it('the settings bound every wait: statement, read (statement + 1 s), connect, idle transaction, keepalive', () => {
    const t = dbTimeouts({ DB_STATEMENT_TIMEOUT_MS: 1500, DB_CONNECT_TIMEOUT_MS: 700, DB_MIGRATION_TIMEOUT_MS: 0 });
    expect(queryTimeoutMs(t)).toBe(2500);
    expect(pgClientBounds(t)).toEqual({
      statement_timeout: 1500,
      query_timeout: 2500,
      idle_in_transaction_session_timeout: 10_000,
      connectionTimeoutMillis: 700,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    expect(pgPoolBounds(t).Client).toBe(BoundedPgClient);
  });
});
