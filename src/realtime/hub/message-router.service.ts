import { Injectable, Logger } from '@nestjs/common';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import { SessionService } from '../../auth/session.service';
import { AppConfig } from '../../config/app-config';
import { dbTimeouts, queryTimeoutMs } from '../../database/db-bounds';
import { DatabaseUnavailableError, isDbUnavailableError, OutageLog } from '../../database/db-errors';
import { PortfolioAccessService } from '../../portfolios/portfolio-access.service';
import type { ClientMessage, ClientMessageOf } from '../protocol/client-messages';
import { CloseCode, ErrorCode } from '../protocol/error-codes';
import { CloseReason, Connection, InboundItem, PendingRequest, RequestRef } from './connection';
import { MessageParser, ParseResult, ProtocolError } from './message-parser';
import { RealtimeHub } from './realtime-hub.service';
import { assetKey, portfolioKey } from './subscription-index';

/** Queued inbound bytes per connection above which it is closed (1008). */
export const MAX_INBOX_BYTES = 1 << 20;
/** Queued inbound messages per connection above which it is closed (1008). */
export const MAX_INBOX_MESSAGES = 2000;
/** The window WS_MAX_PROTOCOL_ERRORS applies to. */
export const PROTOCOL_ERROR_WINDOW_MS = 60_000;

/** The requests that may wait on the database (catalog refresh, session and ownership checks, snapshots). */
type DbBoundMessage = ClientMessageOf<'subscribe_asset'> | ClientMessageOf<'subscribe_portfolio'>;
type ImmediateMessage = Exclude<ClientMessage, DbBoundMessage>;

/** A subscription request in its connection's database lane (see MessageRouter). */
interface DbTask extends PendingRequest {
  readonly msg: DbBoundMessage;
  /** When its answer is due: received + the query timeout (ms epoch). */
  readonly deadline: number;
  timer: NodeJS.Timeout | null;
  /** Rejects at the deadline: every database wait of the request races it. */
  readonly expired: Promise<never>;
  readonly expire: (err: Error) => void;
  /** Resolves when the lane is done with it. */
  readonly done: Promise<void>;
  readonly finish: () => void;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Inbound path for both transports: queue (taken one message at a time, in order)
 * -> rate limit -> parse and validate (MessageParser, class-validator DTOs)
 * -> handle -> reply, echoing the optional `id`.
 *
 * Requests that may wait on the database (`subscribe_asset`, `subscribe_portfolio`)
 * go on to the connection's database lane: handled one at a time, in the order
 * received, each answered within the query timeout (DB_STATEMENT_TIMEOUT_MS + 1 s,
 * from its arrival) or failed with SERVICE_UNAVAILABLE. While one waits, the
 * messages after it (`ping`, `list_subscriptions`, `unsubscribe_*`, `set_options`)
 * are answered at once. Subscription state still ends as if every message had been
 * handled in order: an unsubscribe cancels that topic in the subscribes pending
 * before it, so a subscribe that completes later does not add it back. A request
 * that needs no I/O (a cached catalog) completes before the next message is taken,
 * exactly as before.
 */
@Injectable()
export class MessageRouter {
  private readonly logger = new Logger('RealtimeRouter');
  private readonly parser = new MessageParser();
  private readonly outage = new OutageLog(this.logger);
  /** The longest a database-bound request may take, from its arrival. */
  private readonly requestTimeoutMs: number;
  /** WS_MAX_PROTOCOL_ERRORS: invalid messages per minute before the connection is closed. */
  private readonly maxProtocolErrors: number;

  constructor(
    private readonly hub: RealtimeHub,
    private readonly catalog: AssetCatalogService,
    private readonly access: PortfolioAccessService,
    private readonly sessions: SessionService,
    config: AppConfig,
  ) {
    this.requestTimeoutMs = queryTimeoutMs(dbTimeouts(config));
    this.maxProtocolErrors = config.WS_MAX_PROTOCOL_ERRORS;
  }

  /** Called by a transport for every inbound frame / event. */
  receive(conn: Connection, item: InboundItem): void {
    if (!conn.open) return;
    conn.lastSeen = Date.now();
    const inbox = (conn.inbox ??= []);
    const queued = inbox.length + (conn.dbQueue?.length ?? 0);
    if (queued >= MAX_INBOX_MESSAGES || (item.kind === 'text' && this.inboxBytes(inbox) + item.text.length > MAX_INBOX_BYTES)) {
      this.hub.drop(conn, CloseCode.POLICY_VIOLATION, 'Too many messages queued: slow down');
      return;
    }
    inbox.push(item);
    if (!conn.processing) void this.run(conn);
  }

  private inboxBytes(inbox: InboundItem[]): number {
    let n = 0;
    for (const i of inbox) if (i.kind === 'text') n += i.text.length;
    return n;
  }

  private async run(conn: Connection): Promise<void> {
    conn.processing = true;
    try {
      while (conn.open && conn.inbox && conn.inbox.length > 0) {
        const item = conn.inbox.shift()!;
        await this.process(conn, item);
      }
    } finally {
      conn.processing = false;
      if (conn.inbox?.length === 0) conn.inbox = null;
    }
  }

  private async process(conn: Connection, item: InboundItem): Promise<void> {
    const req: RequestRef = { type: item.kind === 'event' ? item.event.slice(0, 64) : null, id: null, ack: item.kind === 'event' ? item.ack : undefined };
    const admission = await this.hub.rateLimiter.admit(conn.id);
    if (!conn.open) return;
    if (!admission.ok) {
      if (admission.abusive) {
        this.hub.drop(conn, CloseCode.POLICY_VIOLATION, 'Rate limit exceeded persistently');
        return;
      }
      this.hub.fail(conn, req, new ProtocolError(ErrorCode.RATE_LIMITED, 'Too many messages: slow down'), {
        retry_after: Math.ceil(admission.retryAfterMs / 100) / 10,
      });
      return;
    }
    let parsed: ParseResult;
    if (item.kind === 'binary') {
      parsed = { ok: false, error: new ProtocolError(ErrorCode.INVALID_JSON, 'Binary frames are not accepted: send JSON text frames') };
    } else if (item.kind === 'text') {
      parsed = this.parser.parseText(item.text);
    } else {
      parsed = this.parser.parseEvent(item.event, item.args);
    }
    if (!parsed.ok) {
      this.hub.fail(conn, req, parsed.error);
      this.countProtocolError(conn);
      return;
    }
    // A valid message, whatever comes of it: the connection is in use (not closed for WS_IDLE_TIMEOUT).
    conn.engaged = true;
    const msg = parsed.message;
    req.type = msg.type;
    req.id = msg.id ?? null;
    if (msg.type === 'subscribe_asset' || msg.type === 'subscribe_portfolio') {
      const task = this.enqueue(conn, msg, req);
      // Done within this turn of the event loop (no I/O needed): in order, as before. Otherwise it
      // waits on the database in its lane and the next messages are taken meanwhile.
      await Promise.race([task.done, nextTurn()]);
      return;
    }
    try {
      this.handle(conn, msg, req);
    } catch (err) {
      this.failed(conn, req, msg.type, err);
    }
  }

  /**
   * An invalid message (INVALID_JSON, VALIDATION_FAILED, UNKNOWN_TYPE: what the parser refuses)
   * has just been answered; after WS_MAX_PROTOCOL_ERRORS of them within a minute the
   * connection is closed with 1008 PROTOCOL_ERRORS.
   */
  private countProtocolError(conn: Connection, now = Date.now()): void {
    if (now - conn.protocolErrorsSince >= PROTOCOL_ERROR_WINDOW_MS) {
      conn.protocolErrorsSince = now;
      conn.protocolErrors = 0;
    }
    if (++conn.protocolErrors >= this.maxProtocolErrors && conn.open) {
      this.hub.drop(conn, CloseCode.POLICY_VIOLATION, `${CloseReason.PROTOCOL_ERRORS}: ${this.maxProtocolErrors} invalid messages within a minute`);
    }
  }

  /** A failed request's answer: its ProtocolError, SERVICE_UNAVAILABLE for a database outage, INTERNAL otherwise. */
  private failed(conn: Connection, req: RequestRef, type: string, err: unknown): void {
    if (err instanceof ProtocolError) {
      this.hub.fail(conn, req, err);
    } else if (isDbUnavailableError(err)) {
      this.outage.failed(`Realtime ${type}`, err);
      this.hub.fail(conn, req, new ProtocolError(ErrorCode.SERVICE_UNAVAILABLE, 'The database is not answering: nothing was changed, try again shortly'));
    } else {
      this.logger.error(`Handling ${type} failed: ${(err as Error).stack ?? err}`);
      this.hub.fail(conn, req, new ProtocolError(ErrorCode.INTERNAL, 'Internal error; the connection is still usable'));
    }
  }

  /** Requests answered at once, whatever is pending on the database. */
  private handle(conn: Connection, msg: ImmediateMessage, req: RequestRef): void {
    switch (msg.type) {
      case 'ping':
        return this.hub.reply(conn, req, 'pong', { server_time: new Date().toISOString() });
      case 'unsubscribe_asset': {
        const symbols = selection(msg);
        this.cancelPending(conn, symbols.map(assetKey));
        const removed = this.hub.removeAssets(conn, symbols);
        return this.hub.reply(conn, req, 'unsubscribed', this.hub.change(conn, removed, []));
      }
      case 'unsubscribe_portfolio': {
        const id = msg.data.portfolio_id;
        this.cancelPending(conn, [portfolioKey(id)]);
        const removed = this.hub.removePortfolio(conn, id);
        return this.hub.reply(conn, req, 'unsubscribed', this.hub.change(conn, [], removed ? [id] : []));
      }
      case 'list_subscriptions':
        return this.hub.reply(conn, req, 'subscriptions', { subscriptions: conn.subscriptions() });
      case 'set_options': {
        if (msg.data.batch_ms !== undefined) this.hub.setBatch(conn, msg.data.batch_ms);
        return this.hub.reply(conn, req, 'options', { batch_ms: conn.batchMs });
      }
    }
  }

  // ---- the database lane -------------------------------------------------------

  /** Queues a database-bound request (its deadline runs from now) and starts the lane if idle. */
  private enqueue(conn: Connection, msg: DbBoundMessage, req: RequestRef): DbTask {
    let expire!: (err: Error) => void;
    let finish!: () => void;
    const expired = new Promise<never>((_, reject) => (expire = reject));
    expired.catch(() => undefined); // raced by the request's waits; nobody may be waiting when it fires
    const done = new Promise<void>((resolve) => (finish = resolve));
    const task: DbTask = { msg, req, cancelled: null, settled: false, deadline: Date.now() + this.requestTimeoutMs, timer: null, expired, expire, done, finish };
    task.timer = setTimeout(() => this.onDeadline(conn, task), this.requestTimeoutMs);
    task.timer.unref?.();
    (conn.dbQueue ??= []).push(task);
    if (!conn.dbBusy) void this.drainLane(conn);
    return task;
  }

  /** The request's deadline passed: it is answered SERVICE_UNAVAILABLE now, and nothing of it is applied later. */
  private onDeadline(conn: Connection, task: DbTask): void {
    task.timer = null;
    const err = new DatabaseUnavailableError(`the database did not answer within ${this.requestTimeoutMs} ms`);
    task.expire(err);
    if (task.settled) return;
    this.settle(task);
    this.failed(conn, task.req, task.msg.type, err);
  }

  private settle(task: DbTask): void {
    task.settled = true;
    if (task.timer) clearTimeout(task.timer);
    task.timer = null;
  }

  /** One database-bound request at a time, in the order received; settled ones (past their deadline) are skipped. */
  private async drainLane(conn: Connection): Promise<void> {
    conn.dbBusy = true;
    try {
      while (conn.open && conn.dbQueue && conn.dbQueue.length > 0) {
        // Stays in the queue while it runs, so an unsubscribe received meanwhile can cancel its topics.
        const task = conn.dbQueue[0] as DbTask;
        try {
          if (!task.settled) await this.runTask(conn, task);
        } finally {
          conn.dbQueue?.shift();
          task.finish();
        }
      }
    } finally {
      conn.dbBusy = false;
      const left = (conn.dbQueue ?? []) as DbTask[];
      conn.dbQueue = null;
      // Only a closed connection leaves requests behind: they are dropped with their timers.
      for (const task of left) {
        this.settle(task);
        task.finish();
      }
    }
  }

  private async runTask(conn: Connection, task: DbTask): Promise<void> {
    try {
      if (task.msg.type === 'subscribe_asset') await this.subscribeAssets(conn, task.msg, task);
      else await this.subscribePortfolio(conn, task.msg.data.portfolio_id, task);
    } catch (err) {
      if (task.settled) return; // answered already (its deadline passed while it waited)
      this.settle(task);
      this.failed(conn, task.req, task.msg.type, err);
    }
  }

  /** `work` (a database wait of this request), or DatabaseUnavailableError at the request's deadline. */
  private bounded<T>(task: DbTask, work: Promise<T>): Promise<T> {
    work.catch(() => undefined); // a late failure after the deadline is nobody's
    return Promise.race([work, task.expired]);
  }

  /** Waits for a snapshot until the request's deadline at most (it goes on, guarded, after that). */
  private async atMostUntil(deadline: number, work: Promise<unknown>): Promise<void> {
    const ms = deadline - Date.now();
    if (ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** An unsubscribe: the subscribes received before it and still pending must not add these topics. */
  private cancelPending(conn: Connection, keys: string[]): void {
    if (!conn.dbQueue) return;
    for (const task of conn.dbQueue) {
      if (task.settled) continue;
      const cancelled = (task.cancelled ??= new Set());
      for (const k of keys) cancelled.add(k);
    }
  }

  private async subscribeAssets(conn: Connection, msg: ClientMessageOf<'subscribe_asset'>, task: DbTask): Promise<void> {
    const req = task.req;
    const wanted = [...new Set(selection(msg))];
    const known = await this.bounded(task, Promise.all(wanted.map((s) => this.catalog.isKnown(s))));
    if (task.settled) return;
    this.outage.recovered('Realtime requests');
    const unknown = wanted.filter((_, i) => !known[i]);
    if (unknown.length > 0) {
      throw new ProtocolError(ErrorCode.UNKNOWN_SYMBOL, `Unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, msg.type, req.id, undefined, {
        symbols: unknown,
      });
    }
    if (!conn.open) return;
    // Symbols unsubscribed after this request was sent stay unsubscribed.
    const fresh = wanted.filter((s) => !conn.assets?.has(s) && !task.cancelled?.has(assetKey(s)));
    if (fresh.length > this.hub.subscriptionRoom(conn)) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection (nothing was added)`,
        msg.type,
        req.id,
      );
    }
    this.settle(task);
    const added = this.hub.addAssets(conn, fresh);
    this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, added, []));
    if (added.length > 0) await this.atMostUntil(task.deadline, this.hub.sendAssetSnapshots(conn, added));
  }

  private async subscribePortfolio(conn: Connection, id: number, task: DbTask): Promise<void> {
    const req = task.req;
    if (conn.userId === null || conn.sessionId === null) {
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Log in to subscribe to portfolios (session cookie on the handshake)');
    }
    const userId = conn.userId;
    const sessionId = conn.sessionId;
    if (conn.portfolios?.has(id)) {
      this.settle(task);
      return this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, [], []));
    }
    const [active, owned] = await this.bounded(task, Promise.all([this.sessions.isActive(sessionId), this.access.findOwned(userId, id)]));
    if (task.settled) return;
    this.outage.recovered('Realtime requests');
    if (!active) {
      this.hub.onSessionEnded({ session_id: sessionId });
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    }
    // Not yours and nonexistent are the same answer.
    if (!owned) throw new ProtocolError(ErrorCode.NOT_FOUND, `Portfolio ${id} not found`);
    if (!conn.open || conn.userId !== userId) throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    // Unsubscribed after this request was sent: it stays unsubscribed.
    if (task.cancelled?.has(portfolioKey(id))) {
      this.settle(task);
      return this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, [], []));
    }
    if (this.hub.subscriptionRoom(conn) < 1) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection`,
      );
    }
    this.settle(task);
    const topic = this.hub.addPortfolio(conn, id);
    this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, [], topic ? [id] : []));
    if (topic) await this.atMostUntil(task.deadline, this.hub.sendPortfolioSnapshot(conn, topic));
  }
}

function selection(msg: ClientMessageOf<'subscribe_asset'> | ClientMessageOf<'unsubscribe_asset'>): string[] {
  return msg.data.symbols ?? (msg.data.symbol !== undefined ? [msg.data.symbol] : []);
}
