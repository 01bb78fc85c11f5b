import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { FeedStatusMessage } from '../../bus/bus.messages';
import { MessageBus } from '../../bus/message-bus';
import type { FeedStatusData } from '../protocol/server-messages';
import type { Connection } from './connection';
import { RealtimeHub } from './realtime-hub.service';
import { FeedStatusChange, groupFeedStatus, VendorStatusBoard } from './vendor-status.board';

/**
 * Sends `status` messages when the price feed can no longer price subscribed symbols (`quiet`:
 * `vendor_unavailable`, `no_quotes`) or can again (`live`: `vendor_recovered`, `quotes_resumed`),
 * to the connections subscribed to them: one message per connection and distinct reason, listing
 * that connection's symbols. Only the feed knows (it may be another process): it publishes its whole
 * quiet set on the bus (`feed.status`) when it changes, and repeats it on a Redis bus, so an instance
 * started during an outage learns it (VendorStatusBoard keeps this instance's copy).
 */
@Injectable()
export class VendorStatusWatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('VendorStatus');
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly hub: RealtimeHub,
    private readonly bus: MessageBus,
    private readonly board: VendorStatusBoard,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.bus.subscribe('feed.status', (m) => this.onFeedStatus(m));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** `status` data for those of `symbols` that are quiet now (after `subscribed` and the snapshots of a new subscription). */
  quietStatusFor(symbols: Iterable<string>): FeedStatusData[] {
    return this.board.quietStatusFor(symbols);
  }

  /** Applies the feed's quiet set and tells the subscribers of every symbol whose state changed; returns the connections told. */
  onFeedStatus(msg: FeedStatusMessage): number {
    const changes = this.board.apply(msg);
    if (changes.length === 0) return 0;
    const perConn = new Map<Connection, FeedStatusChange[]>();
    for (const change of changes) {
      const topic = this.hub.index.peekAsset(change.symbol);
      if (!topic) continue;
      for (const conn of topic.subscribers) {
        const list = perConn.get(conn);
        if (list) list.push(change);
        else perConn.set(conn, [change]);
      }
    }
    for (const [conn, list] of perConn) for (const data of groupFeedStatus(list)) this.hub.push(conn, 'status', data);
    const quiet = changes.filter((c) => c.status.state === 'quiet').length;
    this.logger.log(
      `Feed status from ${msg.origin}: ${quiet} symbol(s) quiet, ${changes.length - quiet} live again (${this.board.size} quiet now); status sent to ${perConn.size} connection(s)`,
    );
    return perConn.size;
  }
}
