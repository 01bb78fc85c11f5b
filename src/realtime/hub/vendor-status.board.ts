import { Injectable } from '@nestjs/common';
import type { FeedQuietReason, FeedStatusMessage } from '../../bus/bus.messages';
import type { FeedStatusData } from '../protocol/server-messages';

/** Why a symbol is quiet, as the feed last said. */
interface QuietEntry {
  reason: FeedQuietReason;
  vendor: string | null;
  since: number;
}

/** One symbol whose feed state changed with a `feed.status` message. */
export interface FeedStatusChange {
  symbol: string;
  status: Omit<FeedStatusData, 'symbols' | 'message'>;
}

/** The `status` data of a feed state change for some symbols, with its sentence. */
export function feedStatus(symbols: string[], s: Omit<FeedStatusData, 'symbols' | 'message'>): FeedStatusData {
  let message: string;
  switch (s.reason) {
    case 'vendor_unavailable':
      message = `Prices delayed: ${s.vendor ?? 'the vendor'} is unavailable since ${s.since}; the last prices stay until it answers again`;
      break;
    case 'no_quotes':
      message = `No quotes from any vendor since ${s.since}; the last prices stay until quotes resume`;
      break;
    case 'vendor_recovered':
      message = `${s.vendor ?? 'The vendor'} answers again: prices update again`;
      break;
    case 'quotes_resumed':
      message = 'Quotes resumed: prices update again';
      break;
  }
  return { symbols, state: s.state, reason: s.reason, vendor: s.vendor, since: s.since, message };
}

/** Key of the symbols that share one `status` message. */
const groupKey = (s: FeedStatusChange['status']): string => `${s.state}|${s.reason}|${s.vendor ?? ''}|${s.since}`;

/** Groups per-symbol states into `status` data, one per distinct state, reason, vendor and time (symbols in the order given). */
export function groupFeedStatus(changes: Iterable<FeedStatusChange>): FeedStatusData[] {
  const groups = new Map<string, { status: FeedStatusChange['status']; symbols: string[] }>();
  for (const c of changes) {
    const key = groupKey(c.status);
    const g = groups.get(key);
    if (g) g.symbols.push(c.symbol);
    else groups.set(key, { status: c.status, symbols: [c.symbol] });
  }
  return [...groups.values()].map((g) => feedStatus(g.symbols, g.status));
}

/**
 * This API instance's copy of the price feed's quiet set (the `feed.status` bus messages,
 * docs/bus.md). Each message is the feed's whole set: apply() replaces the copy and says what
 * changed (a symbol leaving the set is live again: `vendor_recovered` after `vendor_unavailable`,
 * `quotes_resumed` after `no_quotes`). No dependencies, so the hub can read it (quietStatusFor)
 * without a cycle; VendorStatusWatcher feeds it and tells the subscribers.
 */
@Injectable()
export class VendorStatusBoard {
  private quiet = new Map<string, QuietEntry>();

  /** Quiet symbols now. */
  get size(): number {
    return this.quiet.size;
  }

  /** Replaces the quiet set with the message's; returns the symbols whose state or reason changed. */
  apply(msg: FeedStatusMessage): FeedStatusChange[] {
    const next = new Map<string, QuietEntry>();
    for (const g of msg.quiet) for (const s of g.symbols) next.set(s, { reason: g.reason, vendor: g.vendor, since: g.since });
    const changes: FeedStatusChange[] = [];
    const at = new Date(msg.at).toISOString();
    for (const [symbol, was] of this.quiet) {
      if (next.has(symbol)) continue;
      const reason = was.reason === 'vendor_unavailable' ? 'vendor_recovered' : 'quotes_resumed';
      changes.push({ symbol, status: { state: 'live', reason, vendor: reason === 'vendor_recovered' ? was.vendor : null, since: at } });
    }
    for (const [symbol, now] of next) {
      const was = this.quiet.get(symbol);
      if (was && was.reason === now.reason && was.vendor === now.vendor) continue;
      changes.push({ symbol, status: { state: 'quiet', reason: now.reason, vendor: now.vendor, since: new Date(now.since).toISOString() } });
    }
    this.quiet = next;
    return changes;
  }

  /**
   * `status` (quiet) data for those of `symbols` the feed cannot price now, one per reason, vendor
   * and time ([] when none): what a new subscriber gets after its `subscribed` and snapshots.
   */
  quietStatusFor(symbols: Iterable<string>): FeedStatusData[] {
    if (this.quiet.size === 0) return [];
    const changes: FeedStatusChange[] = [];
    for (const symbol of symbols) {
      const q = this.quiet.get(symbol);
      if (q) changes.push({ symbol, status: { state: 'quiet', reason: q.reason, vendor: q.vendor, since: new Date(q.since).toISOString() } });
    }
    return groupFeedStatus(changes);
  }
}
