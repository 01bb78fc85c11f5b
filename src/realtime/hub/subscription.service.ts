import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { AssetCatalogService } from '../../assets/asset-catalog.service';
import type { AssetSelection, AssetSubscription, ConnectionOptions, PortfolioSubscription } from '../protocol/client-messages';
import { ErrorCode } from '../protocol/error-codes';
import type { Connection } from './connection';
import type { InboundRequest } from './inbound-request';
import { ProtocolError } from './protocol-error';
import type { PriceTick } from '../../bus/bus.messages';
import { PortfolioSeriesPushes } from './portfolio-series';
import { RealtimeHub } from './realtime-hub.service';
import { Reply, reply, replyThen } from './reply';
import { RequestLane } from './request-lane';
import { assetKey, portfolioKey, type PortfolioTopic } from './subscription-index';

/**
 * What each client message does, for the gateway's handlers (which only call these):
 * validated input in, a typed Reply (or the reply, then a snapshot) out, a ProtocolError
 * thrown for a refusal. Subscribes run in the connection's database lane (RequestLane);
 * everything else is answered at once. Transport-free.
 */
@Injectable()
export class SubscriptionService {
  constructor(
    private readonly hub: RealtimeHub,
    private readonly catalog: AssetCatalogService,
    private readonly lane: RequestLane,
    private readonly series: PortfolioSeriesPushes,
  ) {}

  /** Held-back updates are written first, so last_seq lists only seqs already sent. */
  ping(conn: Connection): Reply<'pong'> {
    return reply('pong', { server_time: new Date().toISOString(), last_seq: this.hub.lastSeqs(conn) });
  }

  list(conn: Connection): Reply<'subscriptions'> {
    return reply('subscriptions', { subscriptions: conn.subscriptions() });
  }

  setOptions(conn: Connection, options: ConnectionOptions): Reply<'options'> {
    if (options.batch_ms !== undefined) this.hub.setBatch(conn, options.batch_ms);
    const portfolio =
      options.portfolio_min_change_bps !== undefined || options.portfolio_max_interval !== undefined || options.portfolio_positions !== undefined;
    if (portfolio) this.hub.setPortfolioPush(conn, options);
    return reply('options', this.hub.optionsOf(conn, portfolio));
  }

  unsubscribeAssets(conn: Connection, selection: AssetSelection): Reply<'unsubscribed'> {
    const symbols = symbolsOf(selection);
    this.lane.cancel(conn, symbols.map(assetKey));
    const removed = this.hub.removeAssets(conn, symbols);
    return reply('unsubscribed', this.hub.change(conn, removed, []));
  }

  unsubscribePortfolio(conn: Connection, id: number): Reply<'unsubscribed'> {
    this.lane.cancel(conn, [portfolioKey(id)]);
    const removed = this.hub.removePortfolio(conn, id);
    return reply('unsubscribed', this.hub.change(conn, [], removed ? [id] : []));
  }

  /**
   * In the database lane: every symbol must be in the catalog (UNKNOWN_SYMBOL, nothing added),
   * the new ones must fit (SUBSCRIPTION_LIMIT, nothing added); then `subscribed`, then the snapshots.
   */
  async subscribeAssets(
    conn: Connection,
    selection: AssetSubscription,
    req: InboundRequest,
  ): Promise<Observable<Reply<'subscribed'>> | Reply<'subscribed'> | undefined> {
    await this.lane.enter(conn, req);
    const wanted = [...new Set(symbolsOf(selection))];
    const since = sinceOf(selection);
    const known = await this.lane.bounded(req, Promise.all(wanted.map((s) => this.catalog.isKnown(s))));
    const unknown = wanted.filter((_, i) => !known[i]);
    if (unknown.length > 0) {
      throw new ProtocolError(
        ErrorCode.UNKNOWN_SYMBOL,
        `Unknown symbol${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
        'subscribe_asset',
        req.id,
        undefined,
        {
          symbols: unknown,
        },
      );
    }
    // A resume first looks up the symbols this instance has no price for, so what it replies is decided in one turn with what it sends.
    const looked = since ? await this.lane.bounded(req, this.hub.lookUpPrices(this.hub.withoutPrice(since.keys()))) : null;
    if (!conn.open) return undefined;
    // Symbols unsubscribed after this request was sent stay unsubscribed.
    const fresh = wanted.filter((s) => !conn.assets?.has(s) && !this.lane.isCancelled(req, assetKey(s)));
    if (fresh.length > this.hub.subscriptionRoom(conn)) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection (nothing was added)`,
        'subscribe_asset',
        req.id,
      );
    }
    this.lane.settle(req);
    if (since && looked) return this.resumeAssets(conn, fresh, since, looked, req);
    const added = this.hub.addAssets(conn, fresh);
    const subscribed = reply('subscribed', this.hub.change(conn, added, []));
    if (added.length === 0) return subscribed;
    return replyThen(subscribed, () => this.lane.untilDeadline(req, this.hub.sendAssetSnapshots(conn, added)));
  }

  /**
   * A subscribe with `since_seq` / `since`: when the reply goes out, in the same turn, the new
   * symbols are added, the `recovered` flags decided, the reply sent and the replays (or
   * snapshots) written, so no live update of those symbols comes between. Symbols without a
   * `since` get the usual snapshot after.
   */
  private resumeAssets(
    conn: Connection,
    fresh: string[],
    since: Map<string, number>,
    looked: Map<string, PriceTick>,
    req: InboundRequest,
  ): Observable<Reply<'subscribed'>> {
    return new Observable<Reply<'subscribed'>>((out) => {
      if (!conn.open) return out.complete();
      const added = this.hub.addAssets(conn, fresh);
      for (const s of since.keys()) if (this.lane.isCancelled(req, assetKey(s))) since.delete(s);
      const resume = this.hub.resumeAssets(conn, since, looked);
      out.next(reply('subscribed', { ...this.hub.change(conn, added, []), recovered: { assets: resume.recovered, portfolios: {} } }));
      resume.send();
      const rest = added.filter((s) => !since.has(s));
      if (rest.length === 0) return out.complete();
      this.lane.untilDeadline(req, this.hub.sendAssetSnapshots(conn, rest)).then(
        () => out.complete(),
        (err: unknown) => out.error(err),
      );
    });
  }

  /**
   * In the database lane, after PortfolioOwnerWsGuard let it through (logged in, session
   * active, the portfolio is theirs): it must fit (SUBSCRIPTION_LIMIT); then `subscribed`, then the
   * snapshot, then (with `series`) the intraday value series, whose new points follow as recorded.
   */
  subscribePortfolio(conn: Connection, selection: PortfolioSubscription, req: InboundRequest): Observable<Reply<'subscribed'>> | Reply<'subscribed'> {
    const id = selection.portfolio_id;
    const resumed = selection.since_seq !== undefined;
    const recovered = resumed ? { recovered: { assets: {}, portfolios: { [id]: false } } } : {};
    // Unsubscribed after this request was sent (it stays unsubscribed): nothing changes.
    if (this.lane.isCancelled(req, portfolioKey(id))) {
      this.lane.settle(req);
      return reply('subscribed', this.hub.change(conn, [], []));
    }
    // Already held: nothing changes, but a resume gets its fresh update, and `series` (or its absence) applies.
    if (conn.portfolios?.has(id)) {
      this.lane.settle(req);
      const held = reply('subscribed', { ...this.hub.change(conn, [], []), ...recovered });
      const topic = resumed ? this.hub.index.peekPortfolio(id) : undefined;
      const series = this.series.want(conn, id, selection.series);
      if (!topic && !series) return held;
      return replyThen(held, () => this.lane.untilDeadline(req, this.afterPortfolioSubscribed(conn, id, topic, true, series)));
    }
    if (this.hub.subscriptionRoom(conn) < 1) {
      throw new ProtocolError(
        ErrorCode.SUBSCRIPTION_LIMIT,
        `Subscription limit reached: at most ${this.hub.limits.max_subscriptions_per_connection} per connection`,
      );
    }
    this.lane.settle(req);
    const topic = this.hub.addPortfolio(conn, id);
    const subscribed = reply('subscribed', { ...this.hub.change(conn, [], topic ? [id] : []), ...recovered });
    if (!topic) return subscribed;
    const series = this.series.want(conn, id, selection.series);
    return replyThen(subscribed, () => this.lane.untilDeadline(req, this.afterPortfolioSubscribed(conn, id, topic, resumed, series)));
  }

  /** After a portfolio's `subscribed`: its snapshot (when there is one to send), then its intraday series when asked for. */
  private async afterPortfolioSubscribed(conn: Connection, id: number, topic: PortfolioTopic | undefined, resumed: boolean, series: boolean): Promise<void> {
    try {
      if (topic) await this.hub.sendPortfolioSnapshot(conn, topic, resumed);
    } finally {
      if (series) await this.series.send(conn, id);
    }
  }
}

/** A resume's `since` per symbol (since_seq goes with `symbol`, `since` with `symbols`); null for a plain subscribe. */
function sinceOf(selection: AssetSubscription): Map<string, number> | null {
  if (selection.since_seq !== undefined && selection.symbol !== undefined) return new Map([[selection.symbol, selection.since_seq]]);
  if (selection.since !== undefined) return new Map(Object.entries(selection.since));
  return null;
}

function symbolsOf(selection: AssetSelection): string[] {
  return selection.symbols ?? (selection.symbol !== undefined ? [selection.symbol] : []);
}
