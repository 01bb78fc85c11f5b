import type { LoggerService } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { buildDataSourceOptions, withMigrationTimeout } from '../../src/database/data-source.options';
import { classifyDbError } from '../../src/database/db-errors';
import { FeedLeaderLock } from '../../src/price-feed/feed/feed-leader.lock';
import { PriceFeedStatus } from '../../src/price-feed/feed/price-feed-status.service';
import { FEED_INTERVAL_NAME, PriceFeedScheduler } from '../../src/price-feed/feed/price-feed.scheduler';
import { startTestApp, TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { api, createPortfolio, loginAs } from '../support/realtime-fixtures';
import { Envelope, openProbe, Probe, WsProbe } from '../support/realtime-probes';
import { poll } from '../support/poll';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * A stalled PostgreSQL (frozen process, black-holed network) must not stall the
 * app without limit: every wait on the database is bounded, the handshake answers
 * 503 SERVICE_UNAVAILABLE, a pending database call does not hold up the
 * connection's other messages, REST answers 503, and everything works again
 * once the database answers.
 *
 * The app talks to PostgreSQL through a TCP proxy on loopback that can freeze:
 * it keeps every socket open and accepts new ones, but forwards nothing in either
 * direction (bytes and closes are held back, as a frozen server or a black-holed
 * link would), until it thaws and delivers what it held.
 */

const STATEMENT_MS = 1000;
const CONNECT_MS = 1000;
const AUTH_MS = 1000;
/** The client-side read timeout: DB_STATEMENT_TIMEOUT_MS + 1 s (see env.validation.ts). */
const QUERY_MS = STATEMENT_MS + 1000;
/** Scheduling noise on a shared machine. */
const SLACK_MS = 1500;

/** Log lines (warn and error) by context, recorded instead of printed. */
class LogRecorder implements LoggerService {
  readonly lines: { at: number; level: string; context: string; message: string }[] = [];
  private push(level: string, message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : '';
    this.lines.push({ at: Date.now(), level, context, message: String(message) });
  }
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown, ...rest: unknown[]): void {
    this.push('warn', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.push('error', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.push('fatal', message, rest);
  }
  between(from: number, to: number, contexts: string[]): string[] {
    return this.lines.filter((l) => l.at >= from && l.at <= to && contexts.includes(l.context)).map((l) => `${l.context} ${l.level}: ${l.message}`);
  }
}

/** A raw WebSocket handshake, bounded: the HTTP status (101 when upgraded) and body of a refusal. */
function wsHandshake(url: string, headers: { cookie: string; origin: string }, timeoutMs: number): Promise<{ status: number; body: any; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const ws = new WsProbe.Socket(`${url}/ws/realtime/`, { headers: { cookie: headers.cookie }, origin: headers.origin, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ status: -1, body: `no answer within ${timeoutMs} ms`, ms: Date.now() - started });
    }, timeoutMs);
    const done = (r: { status: number; body: any; ms: number }) => {
      clearTimeout(timer);
      resolve(r);
    };
    ws.on('error', (err) => done({ status: -1, body: String(err), ms: Date.now() - started }));
    ws.on('open', () => {
      ws.terminate();
      done({ status: 101, body: null, ms: Date.now() - started });
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          /* not JSON: kept as text */
        }
        done({ status: res.statusCode ?? 0, body, ms: Date.now() - started });
      });
      res.on('error', () => done({ status: res.statusCode ?? 0, body: text, ms: Date.now() - started }));
    });
  });
}

/** A Socket.IO handshake (websocket transport), bounded: connected, or the connect_error's data. */
function ioHandshake(
  url: string,
  headers: { cookie: string; origin: string },
  timeoutMs: number,
): Promise<{ connected: boolean; data: any; message: string; ms: number }> {
  const started = Date.now();
  const socket = io(`${url}/realtime`, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
  });
  return new Promise((resolve) => {
    // Socket.IO's own `timeout` covers the Engine.IO connection, not the namespace's middleware: bound it here.
    const timer = setTimeout(() => {
      socket.close();
      resolve({ connected: false, data: null, message: `no answer within ${timeoutMs} ms`, ms: Date.now() - started });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.close();
      resolve({ connected: true, data: null, message: '', ms: Date.now() - started });
    });
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      clearTimeout(timer);
      socket.close();
      resolve({ connected: false, data: err.data ?? null, message: err.message, ms: Date.now() - started });
    });
  });
}

/** The reply (any type) carrying this request id, bounded. */
function replyTo(p: Probe, id: string, timeoutMs: number): Promise<Envelope> {
  return p.inbox.take((m) => m.id === id || m.data?.id === id, timeoutMs, `the reply to ${id}`);
}

describe('a stalled PostgreSQL (frozen proxy) is bounded everywhere', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  let dropDb: () => Promise<void>;
  const logs = new LogRecorder();
  let alice: { cookie: string; userId: number };
  let portfolioId: number;
  const probes: Probe[] = [];
  let frozenAt = 0;

  const freeze = () => {
    proxy.freeze();
    frozenAt = Date.now();
  };

  beforeAll(async () => {
    const admin = new URL(inject('pgAdminUrl'));
    // Loopback only: the proxy forwards to the run's own server on this machine.
    expect(['127.0.0.1', 'localhost', '[::1]']).toContain(admin.hostname);
    const db = await createTestDatabase('rmstall');
    dropDb = db.drop;
    proxy = new TcpProxy(Number(admin.port || 5432));
    const port = await proxy.listen();
    const viaProxy = new URL(db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(port);
    t = await startTestApp(
      {
        PRICE_FEED_MODE: 'inprocess',
        REALTIME_UPDATE_INTERVAL: '0.3',
        PRICE_BACKFILL_DAYS: '0',
        DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
        DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
        WS_AUTH_TIMEOUT_MS: String(AUTH_MS),
      },
      { databaseUrl: viaProxy.toString() },
    );
    t.app.useLogger(logs);
    alice = await loginAs(t, 'alice');
    portfolioId = await createPortfolio(t, alice.cookie, 'Stall');
    // The feed leads and has completed runs before the database stalls.
    const status = t.app.get(PriceFeedStatus);
    await poll('the feed leads and runs', () => t.app.get(FeedLeaderLock).isHeld && status.runs >= 2, 15_000);
    // Connections authenticated before the stall (each sends one message, so no idle rule closes it).
    for (const kind of ['websocket', 'socketio'] as const) {
      const p = await openProbe(kind, t, { origin: t.url, cookie: alice.cookie });
      probes.push(p);
      expect((await p.next('connection')).data.authenticated).toBe(true);
      p.send('ping', {}, 'hello');
      await p.next('pong');
    }
  }, 60_000);

  afterAll(async () => {
    proxy?.thaw();
    await Promise.all(probes.map((p) => p.close()));
    await t?.close();
    await proxy?.close();
    await dropDb?.();
  }, 60_000);

  it('(a) the feed run in flight fails within its bound, logs a bounded number of lines and keeps its schedule', async () => {
    const scheduler = t.app.get(PriceFeedScheduler);
    const status = t.app.get(PriceFeedStatus);
    const lock = t.app.get(FeedLeaderLock);
    const errorBefore = status.lastError;
    freeze();
    // A run is in flight during the stall (one starts every 0.3 s while the lock is held).
    await poll('a feed run in flight on the frozen database', () => scheduler.busy, 2000, 5);
    const inFlight = Date.now();
    await poll('the run in flight ends', () => !scheduler.busy, QUERY_MS + CONNECT_MS + SLACK_MS, 10);
    expect(Date.now() - inFlight).toBeLessThanOrEqual(QUERY_MS + CONNECT_MS + SLACK_MS);
    expect(status.lastError).not.toBe(errorBefore);
    expect(status.lastError).toMatch(/timeout|terminated|unavailable|connect/i);
    // The lock's own check is bounded too: leadership is dropped (no writes) rather than waited on.
    await poll('the lock connection check fails', () => !lock.isHeld, QUERY_MS + 500 + SLACK_MS, 10);
    // A run started while the lock was still held ends within the same bound, and no new one starts.
    await poll('no run is stuck', () => !scheduler.busy, QUERY_MS + CONNECT_MS + SLACK_MS, 10);
    const runs = status.runs;
    const skipped = status.skippedRuns;
    // The schedule stays registered; its ticks find no leadership and do nothing (a few intervals of 0.3 s).
    expect(t.app.get(SchedulerRegistry).doesExist('interval', FEED_INTERVAL_NAME)).toBe(true);
    const quietUntil = Date.now() + 1000;
    await poll('a second of ticks', () => Date.now() >= quietUntil || scheduler.busy, 2000, 20);
    expect(scheduler.busy).toBe(false);
    expect([status.runs, status.skippedRuns]).toEqual([runs, skipped]);
  });

  it('(b) a handshake with a session cookie is refused with 503 SERVICE_UNAVAILABLE within WS_AUTH_TIMEOUT_MS, on both transports', async () => {
    expect(proxy.isFrozen).toBe(true);
    const headers = { cookie: alice.cookie, origin: t.url };
    const [ws, sio] = await Promise.all([wsHandshake(t.wsUrl, headers, AUTH_MS + SLACK_MS + 2000), ioHandshake(t.url, headers, AUTH_MS + SLACK_MS + 2000)]);
    expect(ws.status, JSON.stringify(ws)).toBe(503);
    expect(ws.body).toMatchObject({ statusCode: 503, error: 'SERVICE_UNAVAILABLE' });
    expect(ws.ms).toBeLessThanOrEqual(AUTH_MS + SLACK_MS);
    expect(sio.connected).toBe(false);
    expect(sio.data, sio.message).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(sio.ms).toBeLessThanOrEqual(AUTH_MS + SLACK_MS);
  });

  it.each([0, 1])(
    '(c) on an open connection (%#), a ping behind a pending subscribe_portfolio gets its pong at once; the subscribe fails with SERVICE_UNAVAILABLE in bound',
    async (i) => {
      expect(proxy.isFrozen).toBe(true);
      const p = probes[i];
      const sent = Date.now();
      p.send('subscribe_portfolio', { portfolio_id: portfolioId }, `sub-${i}`);
      p.send('ping', {}, `ping-${i}`);
      p.send('list_subscriptions', {}, `list-${i}`);
      const pong = await replyTo(p, `ping-${i}`, 1000);
      expect(pong.type).toBe('pong');
      const list = await replyTo(p, `list-${i}`, 1000);
      expect(list.data.subscriptions.portfolios).toEqual([]);
      // The subscribe was still pending when the pong came.
      expect(p.inbox.received.some((m) => m.id === `sub-${i}` || m.data?.id === `sub-${i}`)).toBe(false);
      const failed = await replyTo(p, `sub-${i}`, QUERY_MS + SLACK_MS + 2000);
      expect(Date.now() - sent).toBeLessThanOrEqual(QUERY_MS + SLACK_MS);
      expect(failed.type).toBe('error');
      expect(failed.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', request_type: 'subscribe_portfolio', id: `sub-${i}` });
      expect(failed.data.message).not.toMatch(/select|relation|pg_|timeout exceeded/i);
    },
  );

  it('(d) a REST call that needs the database answers 503 in the usual error shape within the bound', async () => {
    expect(proxy.isFrozen).toBe(true);
    for (const [cookie, path] of [
      [alice.cookie, '/api/portfolios'],
      ['', '/api/assets/AAPL'],
    ] as const) {
      const started = Date.now();
      const res = await fetch(`${t.url}${path}`, {
        headers: cookie ? { cookie, origin: t.url } : {},
        signal: AbortSignal.timeout(QUERY_MS + CONNECT_MS + SLACK_MS + 2000),
      });
      const ms = Date.now() - started;
      expect(res.status, path).toBe(503);
      expect(await res.json()).toMatchObject({ statusCode: 503, error: 'SERVICE_UNAVAILABLE', message: expect.any(String) });
      expect(ms, path).toBeLessThanOrEqual(QUERY_MS + CONNECT_MS + SLACK_MS);
    }
  });

  it('the feed logged a bounded number of lines during the stall', () => {
    const lines = logs.between(frozenAt, Date.now(), ['PriceFeed', 'FeedLeaderLock', 'PricePipeline']);
    const seconds = (Date.now() - frozenAt) / 1000;
    expect(lines.length, lines.join('\n')).toBeGreaterThan(0);
    // A few lines per failure, not one per tick, symbol or retry: at most ~2 a second of outage.
    expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(10 + 2 * seconds);
  });

  it('after the thaw everything works again: handshake with the cookie, subscribe, REST, and the feed', async () => {
    proxy.thaw();
    const status = t.app.get(PriceFeedStatus);
    const runsBefore = status.runs;
    const headers = { cookie: alice.cookie, origin: t.url };
    await poll('REST answers 200 again', async () => (await api(t, alice.cookie, 'GET', '/api/portfolios')).status === 200, 10_000, 100);
    const ws = await wsHandshake(t.wsUrl, headers, 5000);
    expect(ws.status, JSON.stringify(ws)).toBe(101);
    const sio = await ioHandshake(t.url, headers, 5000);
    expect(sio.connected, JSON.stringify(sio)).toBe(true);
    for (const [i, p] of probes.entries()) {
      p.send('subscribe_portfolio', { portfolio_id: portfolioId }, `again-${i}`);
      const ok = await replyTo(p, `again-${i}`, 5000);
      expect(ok).toMatchObject({ type: 'subscribed', data: { portfolios: [portfolioId] } });
      await p.next('portfolio_update', (m) => m.data.portfolio_id === portfolioId, 5000);
      p.send('unsubscribe_portfolio', { portfolio_id: portfolioId }, `bye-${i}`);
      expect((await replyTo(p, `bye-${i}`, 2000)).data.portfolios).toEqual([portfolioId]);
    }
    // The feed takes the lock again and runs on schedule.
    await poll('the feed leads and runs again', () => t.app.get(FeedLeaderLock).isHeld && status.runs > runsBefore + 1, 20_000, 50);
  }, 45_000);

  it.each([0, 1])('(%#) a subscribe pending when its topic is unsubscribed does not re-add it when it completes', async (i) => {
    const p = probes[i];
    freeze();
    try {
      p.send('subscribe_portfolio', { portfolio_id: portfolioId }, `late-${i}`);
      p.send('unsubscribe_portfolio', { portfolio_id: portfolioId }, `undo-${i}`);
      const undo = await replyTo(p, `undo-${i}`, 1000);
      expect(undo).toMatchObject({ type: 'unsubscribed', data: { portfolios: [], subscriptions: { portfolios: [] } } });
    } finally {
      proxy.thaw();
    }
    // The database answers now: the subscribe completes, and must not undo the later unsubscribe.
    const late = await replyTo(p, `late-${i}`, QUERY_MS + SLACK_MS);
    expect(late).toMatchObject({ type: 'subscribed', data: { portfolios: [], subscriptions: { portfolios: [] } } });
    p.send('list_subscriptions', {}, `check-${i}`);
    expect((await replyTo(p, `check-${i}`, 2000)).data.subscriptions.portfolios).toEqual([]);
  });
});

describe('statement timeouts: the app is bounded, migrations are not cut', () => {
  /** A migration whose statement outlasts DB_STATEMENT_TIMEOUT_MS (in a transaction, and outside one). */
  class SlowMigration1799000000000 implements MigrationInterface {
    name = 'SlowMigration1799000000000';
    async up(runner: QueryRunner): Promise<void> {
      await runner.query('SELECT pg_sleep(0.6)');
    }
    async down(): Promise<void> {}
  }
  class SlowNoTransaction1799000000001 extends SlowMigration1799000000000 {
    override name = 'SlowNoTransaction1799000000001';
    transaction = false;
  }
  let db: { url: string; drop: () => Promise<void> };
  let ds: DataSource | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('rmstmt');
  });
  afterAll(async () => {
    await ds?.destroy().catch(() => undefined);
    await db?.drop();
  });

  it('a query longer than DB_STATEMENT_TIMEOUT_MS is cancelled (a timeout, not a bug); a migration as long runs to its end', async () => {
    const timeouts = { statementTimeoutMs: 200, connectTimeoutMs: 2000, migrationTimeoutMs: 0 };
    const options = buildDataSourceOptions(db.url, 2, timeouts);
    ds = await new DataSource({
      ...options,
      logging: false,
      migrations: [withMigrationTimeout(SlowMigration1799000000000, 0), withMigrationTimeout(SlowNoTransaction1799000000001, 0)],
    }).initialize();
    const err = await ds.query('SELECT pg_sleep(0.6)').catch((e: unknown) => e);
    expect((err as { driverError?: { code?: string } }).driverError?.code).toBe('57014');
    expect(classifyDbError(err)).toBe('timeout');
    const ran = await ds.runMigrations({ transaction: 'each' });
    expect(ran.map((m) => m.name)).toEqual(['SlowMigration1799000000000', 'SlowNoTransaction1799000000001']);
    // The connections are back to the app's bound afterwards.
    const after = await ds.query('SELECT pg_sleep(0.6)').catch((e: unknown) => e);
    expect(classifyDbError(after)).toBe('timeout');
    expect((await ds.query(`SELECT current_setting('statement_timeout') AS v`))[0].v).toBe('200ms');
  });
});
