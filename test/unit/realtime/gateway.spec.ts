import { GUARDS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AssetCatalogService } from '../../../src/assets/asset-catalog.service';
import { SessionService } from '../../../src/auth/session.service';
import { MessageBus } from '../../../src/bus/message-bus';
import { createValidationPipe } from '../../../src/common/validation';
import { AppConfig } from '../../../src/config/app-config';
import { EnvironmentVariables } from '../../../src/config/env.validation';
import { IntradaySeriesService } from '../../../src/portfolios/intraday/intraday-series.service';
import { PortfolioAccessService } from '../../../src/portfolios/portfolio-access.service';
import { PortfolioValuation, PortfolioValuationSource } from '../../../src/portfolios/valuation/valuation.types';
import { LatestPriceSource } from '../../../src/price-feed/latest-price.source';
import { PortfolioOwnerWsGuard } from '../../../src/realtime/gateway/portfolio-owner.ws-guard';
import { RealtimeExceptionFilter } from '../../../src/realtime/gateway/realtime-exception.filter';
import { RealtimeGateway } from '../../../src/realtime/gateway/realtime.gateway';
import { Connection, ConnectionIdentity } from '../../../src/realtime/hub/connection';
import { ConnectionRegistry } from '../../../src/realtime/hub/connection-registry';
import { InboundItem, InboundQueue } from '../../../src/realtime/hub/inbound-queue';
import type { OutboundFrame } from '../../../src/realtime/hub/outbound-frame';
import { PortfolioSeriesPushes } from '../../../src/realtime/hub/portfolio-series';
import { RealtimeHub } from '../../../src/realtime/hub/realtime-hub.service';
import { MarketClock } from '../../../src/assets/market-clock';
import { VendorStatusBoard } from '../../../src/realtime/hub/vendor-status.board';
import { SseTransport } from '../../../src/realtime/transports/sse.transport';
import { RequestLane } from '../../../src/realtime/hub/request-lane';
import { SubscriptionService } from '../../../src/realtime/hub/subscription.service';
import { CLIENT_MESSAGE_TYPES } from '../../../src/realtime/protocol/client-messages';
import type { ServerMessage } from '../../../src/realtime/protocol/server-messages';
import { RawWebSocketTransport } from '../../../src/realtime/transports/raw-websocket.transport';
import { RealtimeServer } from '../../../src/realtime/transports/realtime-server';
import { RealtimeWsAdapter } from '../../../src/realtime/transports/realtime-ws.adapter';
import { SocketIoTransport } from '../../../src/realtime/transports/socketio.transport';

/**
 * The gateway's handlers through Nest's real pipeline (guards, pipes, handler, exception
 * filter), reached the way the transports reach them: RealtimeWsAdapter bound to the gateway,
 * a connection handed to Nest, its messages pushed into the InboundQueue. No network: the
 * connection records what it is sent; the database-backed services are stubs.
 */

/** A connection that records what it is sent and lets a test wait for the next message. */
class RecordingConnection extends Connection {
  readonly kind = 'websocket' as const;
  readonly messages: ServerMessage[] = [];
  readonly frames: OutboundFrame[] = [];
  /** Types of everything sent, messages and frames, in order. */
  readonly sentTypes: string[] = [];
  closedWith: { code: number; reason: string } | null = null;
  private waiters: ((m: ServerMessage) => void)[] = [];
  private unread: ServerMessage[] = [];

  bufferedBytes() {
    return 0;
  }
  sendFrame(frame: OutboundFrame) {
    this.frames.push(frame);
    this.sentTypes.push(frame.type);
    this.frameWaiter?.(frame);
    this.frameWaiter = null;
  }
  private frameWaiter: ((f: OutboundFrame) => void) | null = null;

  /** The next shared frame (update or snapshot) sent to this connection. */
  nextFrame(): Promise<OutboundFrame> {
    return new Promise((resolve) => (this.frameWaiter = resolve));
  }
  sendMessage(message: ServerMessage) {
    this.messages.push(message);
    this.sentTypes.push(message.type);
    const waiter = this.waiters.shift();
    if (waiter) waiter(message);
    else this.unread.push(message);
  }
  ping() {
    return true;
  }
  close(code: number, reason: string) {
    this.closedWith = { code, reason };
  }
  terminate() {}

  /** The next message sent to this connection (the test's timeout bounds the wait). */
  next(): Promise<ServerMessage> {
    const m = this.unread.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Keeps the server the adapter creates (the endpoints themselves are stubbed out). */
class TestAdapter extends RealtimeWsAdapter {
  server!: RealtimeServer;
  override create(port: number): RealtimeServer {
    return (this.server = super.create(port));
  }
}

const text = (message: unknown): InboundItem => ({ kind: 'text', text: JSON.stringify(message) });

/** A promise and its resolver (a database answer the test releases). */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RealtimeGateway through Nest (guards, pipes, filter)', () => {
  let app: INestApplication;
  let adapter: TestAdapter;
  let hub: RealtimeHub;
  let inbound: InboundQueue;
  const access = { findOwned: vi.fn<(userId: number | null | undefined, id: number) => Promise<unknown>>() };
  const sessions = { isActive: vi.fn<(sessionId: string) => Promise<boolean>>() };
  const valuations = { snapshot: vi.fn<(id: number) => Promise<PortfolioValuation | null>>(), onChange: () => () => undefined, setInterest: () => undefined };

  beforeEach(async () => {
    access.findOwned.mockReset();
    sessions.isActive.mockReset().mockResolvedValue(true);
    valuations.snapshot.mockReset().mockResolvedValue(null);
    const config = AppConfig.from(
      Object.assign(new EnvironmentVariables(), { WS_RATE_LIMIT: 1000, WS_RATE_BURST: 1000, WS_MAX_PROTOCOL_ERRORS: 20, DB_STATEMENT_TIMEOUT_MS: 100 }),
    );
    const moduleRef = await Test.createTestingModule({
      providers: [
        RealtimeGateway,
        SubscriptionService,
        PortfolioSeriesPushes,
        RealtimeHub,
        ConnectionRegistry,
        InboundQueue,
        RequestLane,
        RealtimeExceptionFilter,
        { provide: AppConfig, useValue: config },
        { provide: MessageBus, useValue: { subscribe: () => () => undefined } },
        { provide: PortfolioValuationSource, useValue: valuations },
        // No intraday series recorded here (subscribe_portfolio `series`: test/e2e/portfolio-intraday.e2e-spec.ts).
        { provide: IntradaySeriesService, useValue: { onRecorded: () => () => undefined, series: async () => [] } },
        { provide: LatestPriceSource, useValue: { getMany: async () => new Map(), warm: async () => 0 } },
        // No asset types: every symbol counts as always open (no market `status` messages here).
        { provide: AssetCatalogService, useValue: { isKnown: async (s: string) => ['AAPL', 'MSFT'].includes(s), typeOf: () => undefined } },
        MarketClock,
        VendorStatusBoard,
        { provide: PortfolioAccessService, useValue: access },
        { provide: SessionService, useValue: sessions },
        // The endpoints (HTTP upgrades, Socket.IO server) are not under test here.
        { provide: RawWebSocketTransport, useValue: { listen: () => undefined } },
        { provide: SocketIoTransport, useValue: { listen: () => null } },
        { provide: SseTransport, useValue: { listen: () => undefined } },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    // As in the real app: the REST ValidationPipe is global and must leave socket messages to the gateway's pipe.
    app.useGlobalPipes(createValidationPipe());
    adapter = new TestAdapter(app);
    app.useWebSocketAdapter(adapter);
    await app.init();
    hub = app.get(RealtimeHub);
    inbound = app.get(InboundQueue);
  });

  afterEach(async () => {
    await app?.close();
  });

  /** A connection registered by the hub and handed to the gateway, its `connection` message read. */
  async function connect(identity: ConnectionIdentity | null = null): Promise<RecordingConnection> {
    const conn = new RecordingConnection();
    expect(hub.open(conn, identity)).toEqual({ ok: true });
    adapter.server.connected(conn);
    expect((await conn.next()).type).toBe('connection');
    return conn;
  }

  const owner: ConnectionIdentity = { userId: 1, sessionId: 'sess-1' };

  it('answers ping with pong, echoing the id (the global REST ValidationPipe leaves the message alone)', async () => {
    const conn = await connect();
    inbound.receive(conn, text({ type: 'ping', data: {}, id: 7 }));
    expect(await conn.next()).toMatchObject({ type: 'pong', id: 7, data: { server_time: expect.any(String) } });
  });

  it('every other message type reaches its handler and gets its typed reply', async () => {
    const conn = await connect();
    inbound.receive(conn, text({ type: 'subscribe_asset', data: { symbols: [' aapl', 'MSFT'] }, id: 1 }));
    expect(await conn.next()).toMatchObject({ type: 'subscribed', id: 1, data: { assets: ['AAPL', 'MSFT'], portfolios: [] } });
    inbound.receive(conn, text({ type: 'unsubscribe_asset', data: { symbol: 'msft' }, id: 2 }));
    expect(await conn.next()).toMatchObject({ type: 'unsubscribed', id: 2, data: { assets: ['MSFT'], subscriptions: { assets: ['AAPL'] } } });
    inbound.receive(conn, text({ type: 'list_subscriptions', id: 3 }));
    expect(await conn.next()).toMatchObject({ type: 'subscriptions', id: 3, data: { subscriptions: { assets: ['AAPL'], portfolios: [] } } });
    inbound.receive(conn, text({ type: 'set_options', data: { batch_ms: 50 }, id: 4 }));
    expect(await conn.next()).toMatchObject({ type: 'options', id: 4, data: { batch_ms: 50 } });
    inbound.receive(conn, text({ type: 'unsubscribe_portfolio', data: { portfolio_id: 8 }, id: 5 }));
    expect(await conn.next()).toMatchObject({ type: 'unsubscribed', id: 5, data: { portfolios: [] } });
    inbound.receive(conn, text({ type: 'subscribe_asset', data: { symbol: 'NOSUCH' }, id: 6 }));
    expect(await conn.next()).toMatchObject({ type: 'error', id: 6, data: { code: 'UNKNOWN_SYMBOL', request_type: 'subscribe_asset', symbols: ['NOSUCH'] } });
  });

  it("the message is each handler's only non-custom parameter (the app's global REST ValidationPipe skips custom ones)", () => {
    for (const type of CLIENT_MESSAGE_TYPES) {
      const method = type.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase());
      const params = Reflect.getMetadata(ROUTE_ARGS_METADATA, RealtimeGateway, method) as Record<string, unknown>;
      expect(
        Object.keys(params).filter((key) => !key.includes('__customRouteArgs__')),
        method,
      ).toEqual([expect.stringMatching(/^3:/)]);
    }
  });

  it('subscribe_portfolio is guarded by PortfolioOwnerWsGuard (@UseGuards)', () => {
    const guards = Reflect.getMetadata(GUARDS_METADATA, RealtimeGateway.prototype.subscribePortfolio) as unknown[];
    expect(guards).toEqual([PortfolioOwnerWsGuard]);
  });

  it('a denied subscribe_portfolio (not the owner) is NOT_FOUND through the guard, with request_type and id; nothing is added', async () => {
    access.findOwned.mockResolvedValue(null);
    const conn = await connect(owner);
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: '42' }, id: 'p-1' }));
    const reply = await conn.next();
    expect(reply).toEqual({
      type: 'error',
      data: { code: 'NOT_FOUND', message: 'Portfolio 42 not found', request_type: 'subscribe_portfolio', id: 'p-1' },
      timestamp: expect.any(String),
      id: 'p-1',
    });
    expect(access.findOwned).toHaveBeenCalledWith(1, 42);
    expect(conn.portfolios).toBeNull();
  });

  it('the same refusal goes to a Socket.IO acknowledgement as {ok: false, error}', async () => {
    access.findOwned.mockResolvedValue(null);
    const conn = await connect(owner);
    const ack = deferred<unknown>();
    inbound.receive(conn, { kind: 'event', event: 'subscribe_portfolio', args: [{ portfolio_id: 5 }], ack: ack.resolve });
    expect(await ack.promise).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'Portfolio 5 not found', request_type: 'subscribe_portfolio', id: null },
    });
    expect(conn.messages).toHaveLength(1); // only `connection`: the reply went to the acknowledgement
  });

  it('AUTH_REQUIRED on an anonymous connection, and when the session has ended (the database is not asked for ownership)', async () => {
    const anon = await connect(null);
    inbound.receive(anon, text({ type: 'subscribe_portfolio', data: { portfolio_id: 1 }, id: 1 }));
    expect((await anon.next()).data).toMatchObject({ code: 'AUTH_REQUIRED', request_type: 'subscribe_portfolio', id: 1 });
    expect(access.findOwned).not.toHaveBeenCalled();

    sessions.isActive.mockResolvedValue(false);
    access.findOwned.mockResolvedValue({ id: 1 });
    const ended = await connect(owner);
    inbound.receive(ended, text({ type: 'subscribe_portfolio', data: { portfolio_id: 1 }, id: 2 }));
    expect((await ended.next()).data).toMatchObject({ code: 'AUTH_REQUIRED', message: 'Your session has ended: log in again', id: 2 });
    expect(ended.authenticated).toBe(false);
  });

  it("the owner's subscribe_portfolio: subscribed, then the snapshot", async () => {
    access.findOwned.mockResolvedValue({ id: 9 });
    valuations.snapshot.mockResolvedValue({
      portfolio_id: 9,
      owner_id: 1,
      name: 'Mine',
      total_value: '10.5',
      daily_change: '0.5',
      daily_change_percent: '5',
      positions_count: 1,
      as_of: '2024-01-15T10:30:00.000Z',
      stale: false,
    });
    const conn = await connect(owner);
    const snapshot = conn.nextFrame();
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: 9 } }));
    expect(await conn.next()).toMatchObject({ type: 'subscribed', data: { portfolios: [9], subscriptions: { assets: [], portfolios: [9] } } });
    expect(JSON.parse((await snapshot).json)).toMatchObject({ type: 'portfolio_update', data: { portfolio_id: 9, name: 'Mine', total_value: 10.5 } });
    expect(conn.sentTypes).toEqual(['connection', 'subscribed', 'portfolio_update']);
  });

  it('VALIDATION_FAILED with request_type, id and one line per field; validation comes before the guard', async () => {
    const conn = await connect();
    inbound.receive(conn, text({ type: 'subscribe_asset', data: { symbol: 5 }, id: 'req-1' }));
    const reply = await conn.next();
    expect(reply).toMatchObject({ type: 'error', id: 'req-1', data: { code: 'VALIDATION_FAILED', request_type: 'subscribe_asset', id: 'req-1' } });
    expect((reply.data as { details: string[] }).details[0]).toMatch(/^data\.symbol: /);
    // Anonymous and an invalid id: the message is refused as invalid, not as unauthenticated.
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: 0 }, id: 3 }));
    expect((await conn.next()).data).toMatchObject({ code: 'VALIDATION_FAILED', request_type: 'subscribe_portfolio', id: 3 });
    expect(access.findOwned).not.toHaveBeenCalled();
  });

  it('every message type has a handler that validates its message (an unknown field is refused)', async () => {
    const conn = await connect();
    for (const [i, type] of CLIENT_MESSAGE_TYPES.entries()) {
      inbound.receive(conn, text({ type, data: {}, bogus: true, id: i }));
      expect((await conn.next()).data, type).toMatchObject({ code: 'VALIDATION_FAILED', request_type: type, id: i });
    }
  });

  it('UNKNOWN_TYPE and INVALID_JSON are answered, not dropped, and count toward WS_MAX_PROTOCOL_ERRORS', async () => {
    const conn = await connect();
    inbound.receive(conn, text({ type: 'nope', id: 3 }));
    expect(await conn.next()).toMatchObject({ type: 'error', id: 3, data: { code: 'UNKNOWN_TYPE', request_type: 'nope', id: 3 } });
    inbound.receive(conn, { kind: 'text', text: '{bad json' });
    expect((await conn.next()).data).toEqual({ code: 'INVALID_JSON', message: 'Message is not valid JSON', request_type: null, id: null });
    for (let n = 3; n <= 20; n++) {
      inbound.receive(conn, { kind: 'binary' });
      expect((await conn.next()).data).toMatchObject({ code: 'INVALID_JSON' });
    }
    expect(conn.closedWith).toEqual({ code: 1008, reason: 'PROTOCOL_ERRORS: 20 invalid messages within a minute' });
  });

  it('a subscribe waiting on the database holds up no ping; an unsubscribe meanwhile wins', async () => {
    const owned = deferred<unknown>();
    access.findOwned.mockReturnValue(owned.promise);
    const conn = await connect(owner);
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: 4 }, id: 'late' }));
    inbound.receive(conn, text({ type: 'ping', id: 'p' }));
    inbound.receive(conn, text({ type: 'unsubscribe_portfolio', data: { portfolio_id: 4 }, id: 'undo' }));
    expect(await conn.next()).toMatchObject({ type: 'pong', id: 'p' });
    expect(await conn.next()).toMatchObject({ type: 'unsubscribed', id: 'undo', data: { portfolios: [] } });
    owned.resolve({ id: 4 });
    expect(await conn.next()).toMatchObject({ type: 'subscribed', id: 'late', data: { portfolios: [], subscriptions: { portfolios: [] } } });
  });

  it('a database that does not answer: SERVICE_UNAVAILABLE at the request deadline (DB_STATEMENT_TIMEOUT_MS + 1 s)', async () => {
    access.findOwned.mockReturnValue(new Promise(() => undefined));
    const conn = await connect(owner);
    const t0 = Date.now();
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: 4 }, id: 's' }));
    expect((await conn.next()).data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', request_type: 'subscribe_portfolio', id: 's' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    // The lane is free again.
    access.findOwned.mockResolvedValue(null);
    inbound.receive(conn, text({ type: 'subscribe_portfolio', data: { portfolio_id: 4 }, id: 't' }));
    expect((await conn.next()).data).toMatchObject({ code: 'NOT_FOUND', id: 't' });
  });
});
