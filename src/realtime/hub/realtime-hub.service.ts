import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { BusMessages, PriceTick } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { PortfolioValuation, PortfolioValuationSource } from '../../portfolios/valuation/valuation.types';
import { LatestPriceSource } from '../../price-feed/latest-price.source';
import { CloseCode } from '../protocol/error-codes';
import { observeFanout, watchRealtimeHub } from '../realtime.metrics';
import type {
  ConnectionData,
  ErrorData,
  ServerMessage,
  ServerLimits,
  ServerMessageMap,
  ServerMessageType,
  SubscriptionChangeData,
} from '../protocol/server-messages';
import { toAssetUpdate, isUsableTick } from './asset-update.mapper';
import { Connection, ConnectionIdentity, ReplyTarget } from './connection';
import { ConnectionRegistry } from './connection-registry';
import { InboundRateLimiter } from './inbound-rate-limiter';
import type { ProtocolError } from './protocol-error';
import { OutboundFlow } from './outbound-flow';
import { OutboundFrame } from './outbound-frame';
import { toPortfolioUpdate } from './portfolio-update.mapper';
import { AssetTopic, assetKey, PortfolioTopic, portfolioKey, SubscriptionIndex } from './subscription-index';

export type OpenResult = { ok: true } | { ok: false; reason: string };

/** The close reason (raw WebSocket, 1008) and error message (Socket.IO) of a connection over MAX_CONNECTIONS_PER_USER. */
export function connectionLimitReason(limit: number): string {
  return `CONNECTION_LIMIT: at most ${limit} connections per user`;
}

/**
 * The transport-agnostic realtime core. Transports hand it Connections; it keeps
 * the registry and the subscription index, turns bus price batches and
 * valuation changes into frames serialised once, and fans them out through
 * per-connection flow control. Nothing here touches the database per message.
 */
@Injectable()
export class RealtimeHub implements OnApplicationBootstrap, BeforeApplicationShutdown, OnModuleDestroy {
  private readonly logger = new Logger('RealtimeHub');
  readonly index = new SubscriptionIndex();
  readonly flow: OutboundFlow;
  readonly rateLimiter: InboundRateLimiter;
  readonly limits: ServerLimits;
  private readonly unsubscribers: (() => void)[] = [];
  /** What else holds per-connection state (the inbound queue, the database lane), told when a connection goes. */
  private readonly releaseHooks: ((conn: Connection) => void)[] = [];
  /** Running counts (stats(), and the realtime_* metrics read at scrape time). `deliveries` counts asset and portfolio deliveries. */
  private readonly counters = { ticks: 0, ticks_dropped: 0, asset_frames: 0, portfolio_frames: 0, deliveries: 0, asset_deliveries: 0 };

  constructor(
    private readonly config: AppConfig,
    private readonly bus: MessageBus,
    private readonly registry: ConnectionRegistry,
    private readonly valuations: PortfolioValuationSource,
    private readonly latestPrices: LatestPriceSource,
  ) {
    this.flow = new OutboundFlow(
      {
        highWater: config.WS_BUFFER_HIGH_WATER,
        hardLimit: config.WS_BUFFER_HARD_LIMIT,
        stallMs: config.WS_STALL_TIMEOUT * 1000,
        pollMs: 50,
      },
      (conn, code, reason) => this.drop(conn, code, reason),
    );
    this.rateLimiter = new InboundRateLimiter(config.WS_RATE_LIMIT, config.WS_RATE_BURST);
    this.limits = {
      max_subscriptions_per_connection: config.MAX_SUBSCRIPTIONS_PER_CONNECTION,
      max_connections_per_user: config.MAX_CONNECTIONS_PER_USER,
      max_payload_bytes: config.WS_MAX_PAYLOAD,
      rate_limit_per_second: config.WS_RATE_LIMIT,
      rate_burst: config.WS_RATE_BURST,
      idle_timeout: config.WS_IDLE_TIMEOUT,
      max_protocol_errors_per_minute: config.WS_MAX_PROTOCOL_ERRORS,
    };
  }

  onApplicationBootstrap(): void {
    this.unsubscribers.push(
      this.bus.subscribe('prices.committed', (m) => this.onPrices(m)),
      this.bus.subscribe('session.ended', (m) => this.onSessionEnded(m)),
      this.bus.subscribe('portfolio.changed', (m) => this.onPortfolioChanged(m)),
      this.valuations.onChange((changed) => this.onValuations(changed)),
    );
    // After price batches the engine only builds valuations of portfolios someone watches on this instance.
    this.valuations.setInterest((id) => this.index.peekPortfolio(id) !== undefined);
    this.unsubscribers.push(() => this.valuations.setInterest(null));
    // The scrape reads connections, subscriptions and these counters from here (nothing counted per delivery).
    const registry = this.registry;
    this.unsubscribers.push(watchRealtimeHub({ connections: () => registry.all(), index: this.index, flow: this.flow, counters: this.counters }));
  }

  /** Closes every connection (1001) before the HTTP server stops. */
  beforeApplicationShutdown(): void {
    for (const conn of [...this.registry.all()]) this.drop(conn, CloseCode.GOING_AWAY, 'Server shutting down');
  }

  onModuleDestroy(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    this.flow.stop();
  }

  // ---- connection lifecycle ------------------------------------------------

  /**
   * Registers a new connection and sends its `connection` message. Refused
   * (nothing registered) when its user already holds MAX_CONNECTIONS_PER_USER.
   */
  open(conn: Connection, identity: ConnectionIdentity | null, batchMs = 0): OpenResult {
    if (!this.registry.add(conn, identity, this.config.MAX_CONNECTIONS_PER_USER)) {
      conn.open = false;
      return { ok: false, reason: connectionLimitReason(this.config.MAX_CONNECTIONS_PER_USER) };
    }
    const data: ConnectionData = {
      status: 'connected',
      connection_id: conn.id,
      authenticated: conn.authenticated,
      user_id: conn.userId,
      transport: conn.kind,
      heartbeat_interval: this.config.HEARTBEAT_INTERVAL,
      connection_timeout: this.config.WEBSOCKET_TIMEOUT,
      limits: this.limits,
      batch_ms: batchMs,
      server_time: new Date().toISOString(),
    };
    conn.sendMessage({ type: 'connection', data, timestamp: data.server_time });
    if (batchMs > 0) this.flow.setBatch(conn, batchMs);
    return { ok: true };
  }

  /** `hook` runs for every connection the hub releases (closed by either side), right after the hub's own cleanup. */
  onRelease(hook: (conn: Connection) => void): void {
    this.releaseHooks.push(hook);
  }

  /** The transport reports the socket gone (client closed, error, terminated). */
  closed(conn: Connection): void {
    this.release(conn);
  }

  /** The server ends a connection: resources are freed at once, then the socket is closed. */
  drop(conn: Connection, code: CloseCode, reason: string): void {
    const wasOpen = this.release(conn);
    if (wasOpen && code !== CloseCode.GOING_AWAY) this.logger.log(`Closing connection ${conn.id} (${code}): ${reason}`, { connection_id: conn.id });
    conn.close(code, reason);
  }

  /** Drops a silent peer without a close handshake. */
  terminate(conn: Connection): void {
    this.release(conn);
    conn.terminate();
  }

  private release(conn: Connection): boolean {
    if (!this.registry.remove(conn) && !conn.open) return false;
    conn.open = false;
    this.index.removeAll(conn);
    this.flow.release(conn);
    this.rateLimiter.forget(conn.id);
    for (const hook of this.releaseHooks) hook(conn);
    return true;
  }

  // ---- replies --------------------------------------------------------------

  reply<K extends ServerMessageType>(conn: Connection, req: ReplyTarget, type: K, data: ServerMessageMap[K]): void {
    if (!conn.open) return;
    if (req.ack) {
      req.ack({ ok: true, type, ...data });
      return;
    }
    if (!this.flow.checkHardLimit(conn)) return;
    const timestamp = new Date().toISOString();
    const message = req.id === null ? { type, data, timestamp } : { type, data, timestamp, id: req.id };
    conn.sendMessage(message as unknown as ServerMessage);
  }

  fail(conn: Connection, req: ReplyTarget, err: ProtocolError, extra: Partial<ErrorData> = {}): void {
    if (!conn.open) return;
    const data: ErrorData = {
      code: err.code,
      message: err.message,
      request_type: err.requestType ?? req.type,
      id: err.id ?? req.id,
      ...(err.details ? { details: err.details } : {}),
      ...err.extra,
      ...extra,
    };
    if (req.ack) {
      req.ack({ ok: false, error: data });
      return;
    }
    if (!this.flow.checkHardLimit(conn)) return;
    const timestamp = new Date().toISOString();
    conn.sendMessage(data.id === null ? { type: 'error', data, timestamp } : { type: 'error', data, timestamp, id: data.id });
  }

  /** A server-initiated message to one connection (not a reply). */
  push<K extends ServerMessageType>(conn: Connection, type: K, data: ServerMessageMap[K]): void {
    if (!conn.open || !this.flow.checkHardLimit(conn)) return;
    conn.sendMessage({ type, data, timestamp: new Date().toISOString() } as unknown as ServerMessage);
  }

  // ---- subscriptions (called by SubscriptionService after validation and auth) -------

  subscriptionRoom(conn: Connection): number {
    return this.config.MAX_SUBSCRIPTIONS_PER_CONNECTION - conn.subscriptionCount();
  }

  addAssets(conn: Connection, symbols: string[]): string[] {
    const added: string[] = [];
    for (const s of symbols) if (this.index.addAsset(conn, s)) added.push(s);
    return added;
  }

  removeAssets(conn: Connection, symbols: string[]): string[] {
    const removed: string[] = [];
    for (const s of symbols) {
      if (this.index.removeAsset(conn, s)) {
        removed.push(s);
        this.flow.forgetTopic(conn, assetKey(s));
      }
    }
    return removed;
  }

  addPortfolio(conn: Connection, id: number): PortfolioTopic | null {
    return this.index.addPortfolio(conn, id);
  }

  removePortfolio(conn: Connection, id: number): boolean {
    const removed = this.index.removePortfolio(conn, id);
    if (removed) this.flow.forgetTopic(conn, portfolioKey(id));
    return removed;
  }

  setBatch(conn: Connection, ms: number): void {
    this.flow.setBatch(conn, ms);
  }

  /**
   * Snapshot on subscribe: the latest asset_update of each symbol, from memory
   * (last tick seen on the bus) or, for symbols not seen yet, LatestPriceSource.
   * Skipped for a symbol whose live update already reached this subscriber.
   */
  async sendAssetSnapshots(conn: Connection, symbols: string[]): Promise<void> {
    const missing: AssetTopic[] = [];
    const seqs: number[] = [];
    for (const s of symbols) {
      const t = this.index.asset(s);
      if (t.tick) this.flow.deliver(conn, this.assetFrame(t));
      else {
        missing.push(t);
        seqs.push(t.seq);
      }
    }
    if (missing.length === 0) return;
    let found: Map<string, PriceTick>;
    try {
      found = await this.latestPrices.getMany(missing.map((t) => t.symbol));
    } catch (err) {
      this.logger.warn(`Snapshot lookup failed: ${(err as Error).message}`);
      return;
    }
    missing.forEach((t, i) => {
      if (!conn.open || !conn.assets?.has(t.symbol) || t.seq !== seqs[i]) return;
      if (!t.tick) {
        const tick = found.get(t.symbol);
        if (!tick || !isUsableTick(tick)) return;
        t.tick = tick;
        t.asOfMs = Date.parse(tick.as_of) || 0;
        t.publishedAt = Date.now();
        t.frame = null;
      }
      this.flow.deliver(conn, this.assetFrame(t));
    });
  }

  /** Snapshot on subscribe for a portfolio: the cached latest frame, or PortfolioValuationSource.snapshot(). */
  async sendPortfolioSnapshot(conn: Connection, topic: PortfolioTopic): Promise<void> {
    if (topic.frame) {
      this.flow.deliver(conn, topic.frame);
      return;
    }
    const seq = topic.seq;
    let v: PortfolioValuation | null;
    try {
      v = await this.valuations.snapshot(topic.portfolioId);
    } catch (err) {
      this.logger.warn(`Portfolio snapshot failed: ${(err as Error).message}`);
      return;
    }
    if (!v || !conn.open || this.index.peekPortfolio(topic.portfolioId) !== topic || !conn.portfolios?.has(topic.portfolioId)) return;
    if (topic.seq !== seq) return; // a live update already went out
    if (v.owner_id !== conn.userId) return;
    topic.frame ??= OutboundFrame.of('portfolio_update', toPortfolioUpdate(v, topic.seq), topic.key);
    this.flow.deliver(conn, topic.frame);
  }

  // ---- fan-out ----------------------------------------------------------------

  /** Bus 'prices.committed': one frame per changed symbol, shared by all its subscribers. */
  private onPrices(msg: BusMessages['prices.committed']): void {
    if (!msg || !Array.isArray(msg.ticks)) return;
    const framesBefore = this.counters.asset_frames;
    this.flow.beginBurst();
    try {
      this.fanOutPrices(msg);
    } finally {
      this.flow.endBurst();
    }
    // Fan-out latency: once per frame of this message, now that the burst is written (not per delivery).
    const frames = this.counters.asset_frames - framesBefore;
    if (frames > 0 && typeof msg.published_at === 'number') observeFanout(msg.published_at, frames);
  }

  private fanOutPrices(msg: BusMessages['prices.committed']): void {
    const publishedAt = typeof msg.published_at === 'number' ? msg.published_at : Date.now();
    let timestamp: string | null = null;
    for (const tick of msg.ticks) {
      if (!isUsableTick(tick)) {
        this.counters.ticks_dropped++;
        continue;
      }
      const topic = this.index.asset(tick.symbol);
      const asOf = Date.parse(tick.as_of);
      if (asOf < topic.asOfMs) {
        // Older than what subscribers already have: never send an older price after a newer one.
        this.counters.ticks_dropped++;
        continue;
      }
      this.counters.ticks++;
      topic.seq++;
      topic.tick = tick;
      if (asOf > 0) topic.asOfMs = asOf;
      topic.publishedAt = publishedAt;
      topic.frame = null;
      if (topic.subscribers.size === 0) continue;
      timestamp ??= new Date().toISOString();
      const frame = new OutboundFrame('asset_update', JSON.stringify(toAssetUpdate(tick, topic.seq, publishedAt)), timestamp, topic.key);
      topic.frame = frame;
      this.counters.asset_frames++;
      this.counters.deliveries += topic.subscribers.size;
      this.counters.asset_deliveries += topic.subscribers.size;
      for (const conn of topic.subscribers) this.flow.deliver(conn, frame);
    }
  }

  /** PortfolioValuationSource.onChange: a portfolio_update to that portfolio's subscribers only. */
  private onValuations(changed: PortfolioValuation[]): void {
    this.flow.beginBurst();
    try {
      this.fanOutValuations(changed);
    } finally {
      this.flow.endBurst();
    }
  }

  private fanOutValuations(changed: PortfolioValuation[]): void {
    let timestamp: string | null = null;
    for (const v of changed) {
      const topic = this.index.peekPortfolio(v.portfolio_id);
      if (!topic) continue;
      topic.seq++;
      timestamp ??= new Date().toISOString();
      const frame = new OutboundFrame('portfolio_update', JSON.stringify(toPortfolioUpdate(v, topic.seq)), timestamp, topic.key);
      topic.frame = frame;
      this.counters.portfolio_frames++;
      for (const conn of topic.subscribers) {
        if (conn.userId !== v.owner_id) continue; // defence in depth: only its owner's sessions
        this.counters.deliveries++;
        this.flow.deliver(conn, frame);
      }
    }
  }

  private assetFrame(t: AssetTopic): OutboundFrame {
    return (t.frame ??= new OutboundFrame('asset_update', JSON.stringify(toAssetUpdate(t.tick!, t.seq, t.publishedAt)), new Date().toISOString(), t.key));
  }

  // ---- sessions and portfolios ----------------------------------------------

  /** Bus 'session.ended' (logout) or a failed periodic re-check: that session's sockets lose portfolio access now. */
  onSessionEnded(msg: { session_id: string }): void {
    if (!msg || typeof msg.session_id !== 'string') return;
    for (const conn of this.registry.sessionConnections(msg.session_id)) {
      const removed = [...(conn.portfolios ?? [])];
      for (const id of removed) this.removePortfolio(conn, id);
      this.registry.deauthenticate(conn);
      if (removed.length > 0) this.push(conn, 'unsubscribed', this.change(conn, [], removed, 'session_ended'));
    }
  }

  private onPortfolioChanged(msg: BusMessages['portfolio.changed']): void {
    if (!msg?.deleted || typeof msg.portfolio_id !== 'number') return;
    for (const conn of this.index.portfolioSubscribers(msg.portfolio_id)) {
      if (this.removePortfolio(conn, msg.portfolio_id)) {
        this.push(conn, 'unsubscribed', this.change(conn, [], [msg.portfolio_id], 'portfolio_deleted'));
      }
    }
  }

  change(conn: Connection, assets: string[], portfolios: number[], reason?: SubscriptionChangeData['reason']): SubscriptionChangeData {
    return reason ? { assets, portfolios, subscriptions: conn.subscriptions(), reason } : { assets, portfolios, subscriptions: conn.subscriptions() };
  }

  // ---- stats ------------------------------------------------------------------

  stats() {
    let maxOutbound = 0;
    let totalOutbound = 0;
    for (const c of this.registry.all()) {
      const n = this.flow.outboundBytes(c);
      totalOutbound += n;
      if (n > maxOutbound) maxOutbound = n;
    }
    return {
      total_connections: this.registry.size,
      authenticated_users: this.registry.authenticatedUserCount(),
      connections_by_transport: this.registry.countByTransport(),
      ...this.index.stats(),
      outbound: { total_bytes: totalOutbound, max_connection_bytes: maxOutbound, ...this.flow.stats() },
      counters: { ...this.counters },
    };
  }

  /** Outbound bytes one connection holds on this server (transport buffer + conflated + batched). */
  outboundBytes(conn: Connection): number {
    return this.flow.outboundBytes(conn);
  }
}
