import { CloseCode } from '../protocol/error-codes';
import type { Connection } from './connection';
import { OutboundFrame } from './outbound-frame';

export interface FlowSettings {
  /** Bytes buffered above which a connection is conflated. */
  highWater: number;
  /** Bytes buffered above which the connection is closed (1013). */
  hardLimit: number;
  /** Milliseconds a connection may stay conflated before it is closed (1013). */
  stallMs: number;
  /** How often conflated connections are checked for drain (ms). */
  pollMs: number;
}

/** Flush a batch early when it holds this many updates. */
export const MAX_BATCH = 500;

/**
 * Outbound flow control per connection, transport-agnostic:
 * - normal: the shared frame goes straight to the socket;
 * - above the high-water mark: conflated, only the newest pending update per
 *   topic is kept (never an older value after a newer one) and flushed, in
 *   order, once the socket drains below half the mark;
 * - past the hard limit, or conflated for longer than the stall timeout:
 *   closed with 1013 through `drop`.
 * Opt-in batching collects a connection's asset updates into one frame per interval.
 */
export class OutboundFlow {
  private readonly watched = new Set<Connection>();
  private poll: NodeJS.Timeout | null = null;
  private readonly batchGroups = new Map<number, { timer: NodeJS.Timeout; members: Set<Connection> }>();
  private conflations = 0;
  private stallCloses = 0;

  constructor(
    private readonly settings: FlowSettings,
    private readonly drop: (conn: Connection, code: CloseCode, reason: string) => void,
  ) {}

  /** Hot path: one shared frame for one subscriber. */
  deliver(conn: Connection, frame: OutboundFrame): void {
    if (conn.conflated !== null) {
      conn.conflated.set(frame.topic!, frame);
      return;
    }
    if (conn.batchMs !== 0 && frame.type === 'asset_update') {
      const batch = (conn.batch ??= []);
      batch.push(frame);
      if (batch.length >= MAX_BATCH) this.flushBatch(conn, new Date().toISOString());
      return;
    }
    this.send(conn, frame);
  }

  /** A one-off message (reply, error): never conflated, but counted against the hard limit. */
  checkHardLimit(conn: Connection): boolean {
    if (conn.bufferedBytes() > this.settings.hardLimit) {
      this.stallCloses++;
      this.drop(conn, CloseCode.TRY_AGAIN_LATER, 'Outbound buffer limit exceeded (slow consumer)');
      return false;
    }
    return true;
  }

  /** Drop any pending update of a topic the connection just left. */
  forgetTopic(conn: Connection, topic: string): void {
    conn.conflated?.delete(topic);
    if (conn.batch) conn.batch = conn.batch.filter((f) => f.topic !== topic);
  }

  release(conn: Connection): void {
    this.watched.delete(conn);
    conn.conflated = null;
    conn.batch = null;
    this.setBatch(conn, 0);
  }

  setBatch(conn: Connection, ms: number): void {
    if (conn.batchMs === ms) return;
    if (conn.batchMs !== 0) {
      const g = this.batchGroups.get(conn.batchMs);
      if (g) {
        g.members.delete(conn);
        if (g.members.size === 0) {
          clearInterval(g.timer);
          this.batchGroups.delete(conn.batchMs);
        }
      }
      if (conn.open && conn.batch?.length) this.flushBatch(conn, new Date().toISOString());
      conn.batch = null;
    }
    conn.batchMs = ms;
    if (ms === 0 || !conn.open) return;
    let g = this.batchGroups.get(ms);
    if (!g) {
      const members = new Set<Connection>();
      const timer = setInterval(() => {
        const ts = new Date().toISOString();
        for (const c of members) if (c.batch?.length) this.flushBatch(c, ts);
      }, ms);
      timer.unref();
      g = { timer, members };
      this.batchGroups.set(ms, g);
    }
    g.members.add(conn);
  }

  /** Bytes this connection holds on the server: the transport's buffer plus conflated frames. */
  outboundBytes(conn: Connection): number {
    let n = conn.bufferedBytes();
    if (conn.conflated) for (const f of conn.conflated.values()) n += f.byteLength;
    if (conn.batch) for (const f of conn.batch) n += f.byteLength;
    return n;
  }

  stats() {
    return { conflated_connections: this.watched.size, conflations_total: this.conflations, slow_consumer_closes: this.stallCloses };
  }

  stop(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    for (const g of this.batchGroups.values()) clearInterval(g.timer);
    this.batchGroups.clear();
    this.watched.clear();
  }

  private send(conn: Connection, frame: OutboundFrame): void {
    const buffered = conn.bufferedBytes();
    if (buffered > this.settings.highWater) {
      if (buffered > this.settings.hardLimit) {
        this.stallCloses++;
        this.drop(conn, CloseCode.TRY_AGAIN_LATER, 'Outbound buffer limit exceeded (slow consumer)');
        return;
      }
      const pending = this.startConflation(conn);
      pending.set(frame.topic ?? `#${pending.size}`, frame);
      return;
    }
    conn.sendFrame(frame);
  }

  private flushBatch(conn: Connection, timestamp: string): void {
    const batch = conn.batch!;
    conn.batch = null;
    let parts = '';
    for (let i = 0; i < batch.length; i++) parts += (i === 0 ? '' : ',') + batch[i].dataJson;
    const frame = new OutboundFrame('asset_updates', `{"updates":[${parts}]}`, timestamp, null);
    if (conn.conflated !== null || conn.bufferedBytes() > this.settings.highWater) {
      // Slow batched consumer: fall back to newest-per-topic like everyone else.
      const pending = conn.conflated ?? this.startConflation(conn);
      for (const f of batch) pending.set(f.topic!, f);
      return;
    }
    conn.sendFrame(frame);
  }

  private startConflation(conn: Connection): Map<string, OutboundFrame> {
    const pending = new Map<string, OutboundFrame>();
    conn.conflated = pending;
    conn.conflatedSince = Date.now();
    this.conflations++;
    this.watched.add(conn);
    if (!this.poll) {
      this.poll = setInterval(() => this.check(), this.settings.pollMs);
      this.poll.unref();
    }
    return pending;
  }

  private check(): void {
    const now = Date.now();
    const lowWater = this.settings.highWater / 2;
    for (const conn of this.watched) {
      if (!conn.open || conn.conflated === null) {
        this.watched.delete(conn);
        continue;
      }
      const buffered = conn.bufferedBytes();
      if (buffered <= lowWater) {
        const pending = conn.conflated;
        conn.conflated = null;
        this.watched.delete(conn);
        for (const f of pending.values()) {
          const again = pendingOf(conn); // send() may have started a new conflation
          if (again !== null) again.set(f.topic ?? `#${again.size}`, f);
          else this.send(conn, f);
        }
      } else if (buffered > this.settings.hardLimit || now - conn.conflatedSince > this.settings.stallMs) {
        this.watched.delete(conn);
        this.stallCloses++;
        this.drop(conn, CloseCode.TRY_AGAIN_LATER, 'Slow consumer: outbound buffer stayed full');
      }
    }
    if (this.watched.size === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = null;
    }
  }
}

function pendingOf(conn: Connection): Map<string, OutboundFrame> | null {
  return conn.conflated;
}
