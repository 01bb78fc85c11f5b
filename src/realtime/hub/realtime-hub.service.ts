import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import { MarketClock } from '../../assets/market-clock';
import { Market, marketOf, MarketSession, MarketStateCache } from '../../assets/market-hours';
import type { BusMessages, PriceTick } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import { AppConfig } from '../../config/app-config';
import { PortfolioValuation, PortfolioValuationSource } from '../../portfolios/valuation/valuation.types';
import { LatestPriceSource } from '../../price-feed/latest-price.source';
import { CloseCode } from '../protocol/error-codes';
import { countResume, observeFanout, watchRealtimeHub } from '../realtime.metrics';
import type { ConnectionOptions } from '../protocol/client-messages';
import type {
  ConnectionData,
  ErrorData,
  OptionsData,
  PongData,
  ServerMessage,
  ServerLimits,
  ServerMessageMap,
  ServerMessageType,
  DeliveryStatusData,
  MarketStatusData,
  SubscriptionChangeData,
} from '../protocol/server-messages';
import { toAssetUpdate, isUsableTick } from './asset-update.mapper';
import { Connection, ConnectionIdentity, ReplyTarget } from './connection';
import { ConnectionRegistry } from './connection-registry';
import { InboundRateLimiter } from './inbound-rate-limiter';
import type { ProtocolError } from './protocol-error';
import { OutboundFlow } from './outbound-flow';
import { OutboundFrame } from './outbound-frame';
import { PortfolioPushes, PortfolioPushOptions } from './portfolio-push';
import { toPortfolioUpdate } from './portfolio-update.mapper';
import { AssetTopic, assetKey, PortfolioTopic, portfolioKey, SubscriptionIndex } from './subscription-index';
import { HistoryEntry, UpdateHistory } from './update-history';
import { VendorStatusBoard } from './vendor-status.board';

export type OpenResult = { ok: true } | { ok: false; reason: string };

/** The close reason (raw WebSocket, 1008) and error message (Socket.IO) of a connection over MAX_CONNECTIONS_PER_USER. */
export function connectionLimitReason(limit: number): string {
  return `CONNECTION_LIMIT: at most ${limit} connections per user`;
}

const MARKET_LABELS = { us_equities: 'US equities', fx: 'FX', crypto: 'Crypto' } as const;

/** The `status` data of a market session for some symbols. */
export function marketStatus(session: MarketSession, symbols: string[], state: MarketStatusData['state']): MarketStatusData {
  const market = session.market === 'fx' ? 'fx' : 'us_equities';
  const next = session.nextChange === null ? null : new Date(session.nextChange).toISOString();
  const label = MARKET_LABELS[session.market];
  const message =
    state === 'quiet'
      ? `${label} market closed${next ? ` until ${next}` : ''}: prices may not change until it reopens`
      : `${label} market ${session.state === 'pre' ? 'in pre-market' : session.state}${next ? ` until ${next}` : ''}: prices update again`;
  return {
    symbols,
    state,
    reason: state === 'quiet' ? 'market_closed' : 'market_opened',
    market,
    market_state: session.state,
    next_change: next,
    message,
  };
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
  /** Portfolio push options (set_options `portfolio_*`): only connections that set some reach it. */
  readonly pushes: PortfolioPushes;
  readonly limits: ServerLimits;
  private readonly unsubscribers: (() => void)[] = [];
  /** What else holds per-connection state (the inbound queue, the database lane), told when a connection goes. */
  private readonly releaseHooks: ((conn: Connection) => void)[] = [];
  /** Running counts (stats(), and the realtime_* metrics read at scrape time). `deliveries` counts asset and portfolio deliveries. */
  private readonly counters = { ticks: 0, ticks_dropped: 0, asset_frames: 0, portfolio_frames: 0, deliveries: 0, asset_deliveries: 0 };
  /** Each market's state, recomputed only when it changes (market_state on the fan-out path is a lookup). */
  private readonly markets = new MarketStateCache();

  constructor(
    private readonly config: AppConfig,
    private readonly bus: MessageBus,
    private readonly registry: ConnectionRegistry,
    private readonly valuations: PortfolioValuationSource,
    private readonly latestPrices: LatestPriceSource,
    private readonly catalog: AssetCatalogService,
    readonly clock: MarketClock,
    private readonly vendorStatus: VendorStatusBoard,
  ) {
    this.flow = new OutboundFlow(
      {
        highWater: config.WS_BUFFER_HIGH_WATER,
        hardLimit: config.WS_BUFFER_HARD_LIMIT,
        stallMs: config.WS_STALL_TIMEOUT * 1000,
        pollMs: 50,
      },
      (conn, code, reason) => this.drop(conn, code, reason),
      (conn, conflated) => this.announceConflation(conn, conflated),
    );
    this.rateLimiter = new InboundRateLimiter(config.WS_RATE_LIMIT, config.WS_RATE_BURST);
    this.pushes = new PortfolioPushes(this.flow, (id) => this.valuations.positions(id));
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
    // Snapshots on subscribe from memory from the start, not one database read per symbol's first subscriber.
    this.latestPrices.warm().then(
      (n) => this.logger.debug(`Latest prices of ${n} assets loaded for snapshots`),
      (err: Error) => this.logger.warn(`Could not load the latest prices ahead (snapshots read them on demand): ${err.message}`),
    );
  }

  /** Closes every connection (1001) before the HTTP server stops. */
  beforeApplicationShutdown(): void {
    for (const conn of [...this.registry.all()]) this.drop(conn, CloseCode.GOING_AWAY, 'Server shutting down');
  }

  onModuleDestroy(): void {
    for (const u of this.unsubscribers.splice(0)) u();
    this.flow.stop();
    this.pushes.stop();
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
    this.pushes.release(conn);
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
    if (removed) {
      this.flow.forgetTopic(conn, portfolioKey(id));
      if (conn.portfolioPush !== null) this.pushes.forget(conn, id);
    }
    return removed;
  }

  setBatch(conn: Connection, ms: number): void {
    this.flow.setBatch(conn, ms);
  }

  /** set_options `portfolio_*`: the ones given replace the current ones, the others stay. */
  setPortfolioPush(conn: Connection, options: ConnectionOptions): void {
    const cur = PortfolioPushes.optionsOf(conn);
    const next: PortfolioPushOptions = {
      minChangeBps: options.portfolio_min_change_bps ?? cur.minChangeBps,
      maxIntervalMs: options.portfolio_max_interval !== undefined ? options.portfolio_max_interval * 1000 : cur.maxIntervalMs,
      positions: options.portfolio_positions ?? cur.positions,
    };
    this.pushes.configure(conn, next, (id) => this.index.peekPortfolio(id));
  }

  /** The `options` reply: batch_ms, and the portfolio options when asked about or not at their defaults. */
  optionsOf(conn: Connection, withPortfolio: boolean): OptionsData {
    if (!withPortfolio && conn.portfolioPush === null) return { batch_ms: conn.batchMs };
    const o = PortfolioPushes.optionsOf(conn);
    return {
      batch_ms: conn.batchMs,
      portfolio_min_change_bps: o.minChangeBps,
      portfolio_max_interval: o.maxIntervalMs / 1000,
      portfolio_positions: o.positions,
    };
  }

  /**
   * Snapshot on subscribe: the latest asset_update of each symbol, from memory
   * (last tick seen on the bus) or, for symbols not seen yet, LatestPriceSource.
   * Skipped for a symbol whose live update already reached this subscriber.
   */
  async sendAssetSnapshots(conn: Connection, symbols: string[]): Promise<void> {
    await this.sendLatestAssetFrames(conn, symbols);
    this.sendClosedMarkets(conn, symbols);
  }

  private async sendLatestAssetFrames(conn: Connection, symbols: string[]): Promise<void> {
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
        this.adopt(t, tick);
      }
      this.flow.deliver(conn, this.assetFrame(t));
    });
  }

  /** A topic without a tick takes one looked up for a snapshot (with its cluster-wide seq). */
  private adopt(t: AssetTopic, tick: PriceTick): void {
    t.tick = tick;
    if (tick.seq !== undefined) t.seq = tick.seq;
    t.asOfMs = Date.parse(tick.as_of) || 0;
    t.publishedAt = Date.now();
    t.frame = null;
    t.frameState = null;
  }

  // ---- resume ------------------------------------------------------------------

  /** Of these symbols, those whose latest price this instance does not hold yet (a resume looks them up first). */
  withoutPrice(symbols: Iterable<string>): string[] {
    const out: string[] = [];
    for (const s of symbols) if (!this.index.peekAsset(s)?.tick) out.push(s);
    return out;
  }

  /** The latest prices of symbols this instance has not seen (bounded by the caller); an empty map when the lookup fails. */
  async lookUpPrices(symbols: string[]): Promise<Map<string, PriceTick>> {
    if (symbols.length === 0) return new Map();
    try {
      return await this.latestPrices.getMany(symbols);
    } catch (err) {
      this.logger.warn(`Resume lookup failed: ${(err as Error).message}`);
      return new Map();
    }
  }

  /**
   * A resuming subscribe, for symbols the connection now holds: per symbol, the updates after
   * the client's `since` from the topic's history (recovered), or the current snapshot (not
   * recovered: the history does not reach back that far, or this server never saw that seq).
   * Decided and returned at once; `send` writes the frames, and must run in the same turn
   * (after the `subscribed` reply), so no live update can come between a replay and its reply.
   */
  resumeAssets(
    conn: Connection,
    since: ReadonlyMap<string, number>,
    looked: ReadonlyMap<string, PriceTick>,
  ): { recovered: Record<string, boolean>; send(): void } {
    const recovered: Record<string, boolean> = {};
    const frames: OutboundFrame[] = [];
    const symbols: string[] = [];
    let replayed = 0;
    for (const [symbol, from] of since) {
      if (!conn.assets?.has(symbol)) continue;
      const t = this.index.asset(symbol);
      if (!t.tick) {
        const tick = looked.get(symbol);
        if (tick && isUsableTick(tick)) this.adopt(t, tick);
      }
      symbols.push(symbol);
      if (!t.tick) {
        // No price anywhere yet: the first live update is all there is.
        recovered[symbol] = from === t.seq;
        continue;
      }
      const r = t.history ? t.history.since(from, t.seq) : from === t.seq ? { recovered: true as const, entries: [] } : { recovered: false as const };
      recovered[symbol] = r.recovered;
      if (!r.recovered) frames.push(this.assetFrame(t));
      else {
        replayed += r.entries.length;
        for (const e of r.entries) frames.push(e.seq === t.seq ? this.assetFrame(t) : this.replayFrame(t, e));
      }
    }
    let ok = 0;
    for (const s of symbols) if (recovered[s]) ok++;
    countResume(ok, symbols.length - ok, replayed);
    return {
      recovered,
      send: () => {
        if (!conn.open) return;
        for (const f of frames) this.flow.deliver(conn, f);
        this.sendClosedMarkets(conn, symbols);
      },
    };
  }

  /** An older update of a topic, encoded again for a replay. */
  private replayFrame(t: AssetTopic, e: HistoryEntry): OutboundFrame {
    const state = this.markets.state(t.market ?? this.resolveMarket(t), this.clock.now());
    return new OutboundFrame(
      'asset_update',
      JSON.stringify(toAssetUpdate(e.tick, e.seq, e.publishedAt, state)),
      new Date(e.publishedAt).toISOString(),
      t.key,
      e.seq,
    );
  }

  /**
   * The pong's `last_seq`: first the updates held back for this connection (batched, conflated)
   * are written, so every seq reported has been sent before the pong.
   */
  lastSeqs(conn: Connection): PongData['last_seq'] {
    this.flow.flushHeld(conn);
    const assets: Record<string, number> = {};
    const portfolios: Record<string, number> = {};
    if (conn.assets) {
      for (const s of conn.assets) {
        const t = this.index.peekAsset(s);
        if (t && t.tick && t.seq > 0) assets[s] = t.seq;
      }
    }
    if (conn.portfolios) {
      for (const id of conn.portfolios) {
        const seq =
          conn.portfolioPush !== null ? this.pushes.lastPushedSeq(conn, id) : this.index.peekPortfolio(id)?.frame ? this.index.peekPortfolio(id)!.seq : 0;
        if (seq > 0) portfolios[id] = seq;
      }
    }
    return { assets, portfolios };
  }

  /** Snapshot on subscribe for a portfolio: the cached latest frame, or PortfolioValuationSource.snapshot(). */
  async sendPortfolioSnapshot(conn: Connection, topic: PortfolioTopic, resumed = false): Promise<void> {
    if (topic.frame && topic.valuation && resumed) {
      this.deliverPortfolioSnapshot(conn, topic, topic.valuation, true);
      return;
    }
    if (topic.frame) {
      if (conn.portfolioPush !== null && topic.valuation) this.pushes.snapshot(conn, topic, topic.valuation, topic.seq, topic.frame);
      else this.flow.deliver(conn, topic.frame);
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
    if (!topic.frame) {
      topic.frame = OutboundFrame.of('portfolio_update', toPortfolioUpdate(v, topic.seq), topic.key);
      topic.valuation = v;
    }
    if (resumed) this.deliverPortfolioSnapshot(conn, topic, topic.valuation ?? v, true);
    else if (conn.portfolioPush !== null) this.pushes.snapshot(conn, topic, topic.valuation ?? v, topic.seq, topic.frame);
    else this.flow.deliver(conn, topic.frame);
  }

  /** The fresh portfolio_update that answers a resume: its own frame, flagged `snapshot: true`. */
  private deliverPortfolioSnapshot(conn: Connection, topic: PortfolioTopic, v: PortfolioValuation, snapshot: true): void {
    const frame = OutboundFrame.of('portfolio_update', { ...toPortfolioUpdate(v, topic.seq), snapshot }, topic.key);
    if (conn.portfolioPush !== null) this.pushes.snapshot(conn, topic, v, topic.seq, frame, true);
    else this.flow.deliver(conn, frame);
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
    let now = 0;
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
      const seq = tick.seq;
      if (seq === undefined) {
        // A publisher without seqs: numbered here, and not replayable.
        topic.seq++;
        topic.history?.clear();
      } else if (seq > topic.seq) {
        topic.seq = seq;
        (topic.history ??= new UpdateHistory(this.config.REALTIME_HISTORY_SIZE)).push({ seq, tick, publishedAt });
      } else if (asOf === topic.asOfMs) {
        // The same committed price again (a message delivered twice).
        this.counters.ticks_dropped++;
        continue;
      } else {
        // A newer price with a lower seq: the database was reset or restored. Start again from it.
        topic.seq = seq;
        topic.history?.clear();
        topic.history?.push({ seq, tick, publishedAt });
      }
      this.counters.ticks++;
      topic.tick = tick;
      if (asOf > 0) topic.asOfMs = asOf;
      topic.publishedAt = publishedAt;
      topic.frame = null;
      if (topic.subscribers.size === 0) continue;
      if (timestamp === null) {
        timestamp = new Date().toISOString();
        now = this.clock.now();
      }
      const state = this.markets.state(topic.market ?? this.resolveMarket(topic), now);
      const frame = new OutboundFrame('asset_update', JSON.stringify(toAssetUpdate(tick, topic.seq, publishedAt, state)), timestamp, topic.key, topic.seq);
      topic.frame = frame;
      topic.frameState = state;
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
      topic.valuation = v;
      this.counters.portfolio_frames++;
      for (const conn of topic.subscribers) {
        if (conn.userId !== v.owner_id) continue; // defence in depth: only its owner's sessions
        if (conn.portfolioPush !== null) {
          // Push options (threshold, interval, positions): this connection's own decision and frame.
          if (this.pushes.offer(conn, topic, v, topic.seq, frame)) this.counters.deliveries++;
          continue;
        }
        this.counters.deliveries++;
        this.flow.deliver(conn, frame);
      }
    }
  }

  /** The topic's latest asset_update, rebuilt when its market changed state since it was encoded. */
  private assetFrame(t: AssetTopic): OutboundFrame {
    const state = this.markets.state(t.market ?? this.resolveMarket(t), this.clock.now());
    if (t.frame && t.frameState === state) return t.frame;
    t.frameState = state;
    return (t.frame = new OutboundFrame(
      'asset_update',
      JSON.stringify(toAssetUpdate(t.tick!, t.seq, t.publishedAt, state)),
      new Date().toISOString(),
      t.key,
      t.seq,
    ));
  }

  // ---- market states ------------------------------------------------------------

  /** The market of a topic's symbol, kept on the topic once the catalog knows its type (until then: always open). */
  private resolveMarket(t: AssetTopic): Market {
    const type = this.catalog.typeOf(t.symbol);
    if (type === undefined) return marketOf(type);
    return (t.market = marketOf(type));
  }

  /** A market's session now (on the market clock). */
  marketSession(market: Market, now = this.clock.now()): MarketSession {
    return this.markets.session(market, now);
  }

  /** After `subscribed` and the snapshots: a `status` (quiet) for the newly subscribed symbols whose market is closed, or that the feed cannot price. */
  private sendClosedMarkets(conn: Connection, symbols: string[]): void {
    if (!conn.open) return;
    const now = this.clock.now();
    const closed = new Map<Market, string[]>();
    for (const s of symbols) {
      const t = this.index.peekAsset(s);
      if (!t || !conn.assets?.has(s)) continue;
      const market = t.market ?? this.resolveMarket(t);
      if (market === 'crypto' || this.markets.state(market, now) !== 'closed') continue;
      const list = closed.get(market);
      if (list) list.push(s);
      else closed.set(market, [s]);
    }
    for (const [market, list] of closed) this.push(conn, 'status', marketStatus(this.markets.session(market, now), list, 'quiet'));
    // And those the price feed cannot price at the moment (vendor down, no quotes).
    for (const data of this.vendorStatus.quietStatusFor(symbols.filter((s) => conn.assets?.has(s)))) this.push(conn, 'status', data);
  }

  /**
   * A market closed (`quiet`) or reopened (`live`): one `status` per connection subscribed to
   * symbols of that market, listing them. Called by MarketStatusWatcher.
   */
  announceMarket(session: MarketSession, state: MarketStatusData['state']): number {
    const perConn = new Map<Connection, string[]>();
    for (const t of this.index.watchedAssets()) {
      if ((t.market ?? this.resolveMarket(t)) !== session.market) continue;
      for (const conn of t.subscribers) {
        const list = perConn.get(conn);
        if (list) list.push(t.symbol);
        else perConn.set(conn, [t.symbol]);
      }
    }
    for (const [conn, symbols] of perConn) this.push(conn, 'status', marketStatus(session, symbols, state));
    return perConn.size;
  }

  /**
   * A connection fell behind (conflated: only the newest update per topic is kept until its
   * buffer drains) or caught up: one `status` each way, naming its subscribed symbols, so the
   * skipped seqs are explained.
   */
  private announceConflation(conn: Connection, conflated: boolean): void {
    if (!conn.open || !conn.assets || conn.assets.size === 0) return;
    const symbols = [...conn.assets].sort();
    const data: DeliveryStatusData = conflated
      ? {
          symbols,
          state: 'delayed',
          reason: 'conflated',
          message: 'This connection is not reading fast enough: only the newest price per symbol is sent until it catches up (seqs are skipped)',
        }
      : { symbols, state: 'live', reason: 'caught_up', message: 'This connection caught up: every update is sent again' };
    this.push(conn, 'status', data);
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
