import { Injectable, Logger } from '@nestjs/common';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import { SessionService } from '../../auth/session.service';
import { PortfolioAccessService } from '../../portfolios/portfolio-access.service';
import type { ClientMessage, ClientMessageOf } from '../protocol/client-messages';
import { CloseCode, ErrorCode } from '../protocol/error-codes';
import { Connection, InboundItem, RequestRef } from './connection';
import { MessageParser, ParseResult, ProtocolError } from './message-parser';
import { RealtimeHub } from './realtime-hub.service';

/** Queued inbound bytes per connection above which it is closed (1008). */
export const MAX_INBOX_BYTES = 1 << 20;
/** Queued inbound messages per connection above which it is closed (1008). */
export const MAX_INBOX_MESSAGES = 2000;

/**
 * Inbound path for both transports: queue (one message at a time, in order)
 * -> rate limit -> parse and validate (MessageParser, class-validator DTOs)
 * -> handle -> reply, echoing the optional `id`.
 */
@Injectable()
export class MessageRouter {
  private readonly logger = new Logger('RealtimeRouter');
  private readonly parser = new MessageParser();

  constructor(
    private readonly hub: RealtimeHub,
    private readonly catalog: AssetCatalogService,
    private readonly access: PortfolioAccessService,
    private readonly sessions: SessionService,
  ) {}

  /** Called by a transport for every inbound frame / event. */
  receive(conn: Connection, item: InboundItem): void {
    if (!conn.open) return;
    conn.lastSeen = Date.now();
    const inbox = (conn.inbox ??= []);
    if (inbox.length >= MAX_INBOX_MESSAGES || (item.kind === 'text' && this.inboxBytes(inbox) + item.text.length > MAX_INBOX_BYTES)) {
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
      return;
    }
    const msg = parsed.message;
    req.type = msg.type;
    req.id = msg.id ?? null;
    try {
      await this.handle(conn, msg, req);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.hub.fail(conn, req, err);
      } else {
        this.logger.error(`Handling ${msg.type} failed: ${(err as Error).stack ?? err}`);
        this.hub.fail(conn, req, new ProtocolError(ErrorCode.INTERNAL, 'Internal error; the connection is still usable'));
      }
    }
  }

  private async handle(conn: Connection, msg: ClientMessage, req: RequestRef): Promise<void> {
    switch (msg.type) {
      case 'ping':
        return this.hub.reply(conn, req, 'pong', { server_time: new Date().toISOString() });
      case 'subscribe_asset':
        return this.subscribeAssets(conn, msg, req);
      case 'unsubscribe_asset': {
        const removed = this.hub.removeAssets(conn, selection(msg));
        return this.hub.reply(conn, req, 'unsubscribed', this.hub.change(conn, removed, []));
      }
      case 'subscribe_portfolio':
        return this.subscribePortfolio(conn, msg.data.portfolio_id, req);
      case 'unsubscribe_portfolio': {
        const id = msg.data.portfolio_id;
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

  private async subscribeAssets(conn: Connection, msg: ClientMessageOf<'subscribe_asset'>, req: RequestRef): Promise<void> {
    const wanted = [...new Set(selection(msg))];
    const known = await Promise.all(wanted.map((s) => this.catalog.isKnown(s)));
    const unknown = wanted.filter((_, i) => !known[i]);
    if (unknown.length > 0) {
      throw new ProtocolError(ErrorCode.UNKNOWN_SYMBOL, `Unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, msg.type, req.id, undefined, {
        symbols: unknown,
      });
    }
    if (!conn.open) return;
    const fresh = wanted.filter((s) => !conn.assets?.has(s));
    if (fresh.length > this.hub.subscriptionRoom(conn)) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection (nothing was added)`,
        msg.type,
        req.id,
      );
    }
    const added = this.hub.addAssets(conn, fresh);
    this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, added, []));
    if (added.length > 0) await this.hub.sendAssetSnapshots(conn, added);
  }

  private async subscribePortfolio(conn: Connection, id: number, req: RequestRef): Promise<void> {
    if (conn.userId === null || conn.sessionId === null) {
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Log in to subscribe to portfolios (session cookie on the handshake)');
    }
    const userId = conn.userId;
    const sessionId = conn.sessionId;
    if (conn.portfolios?.has(id)) {
      return this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, [], []));
    }
    const [active, owned] = await Promise.all([this.sessions.isActive(sessionId), this.access.findOwned(userId, id)]);
    if (!active) {
      this.hub.onSessionEnded({ session_id: sessionId });
      throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    }
    // Not yours and nonexistent are the same answer.
    if (!owned) throw new ProtocolError(ErrorCode.NOT_FOUND, `Portfolio ${id} not found`);
    if (!conn.open || conn.userId !== userId) throw new ProtocolError(ErrorCode.AUTH_REQUIRED, 'Your session has ended: log in again');
    if (this.hub.subscriptionRoom(conn) < 1) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection`,
      );
    }
    const topic = this.hub.addPortfolio(conn, id);
    this.hub.reply(conn, req, 'subscribed', this.hub.change(conn, [], topic ? [id] : []));
    if (topic) await this.hub.sendPortfolioSnapshot(conn, topic);
  }
}

function selection(msg: ClientMessageOf<'subscribe_asset'> | ClientMessageOf<'unsubscribe_asset'>): string[] {
  return msg.data.symbols ?? (msg.data.symbol !== undefined ? [msg.data.symbol] : []);
}
