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
 * Batched connections are flushed in up to this many phases per interval, each
 * phase a 1/n-th of them, so one timer never writes every batched socket in one
 * burst (the last socket would wait for all the others: latency tail).
 */
export const BATCH_PHASES = 5;
/** A phase timer never fires more often than this (ms). */
const MIN_PHASE_MS = 10;

interface BatchGroup {
  timer: NodeJS.Timeout;
  phases: Set<Connection>[];
  /** Phase flushed by the next tick. */
  tick: number;
  /** Round-robin phase assignment. */
  assigned: number;
}

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
  private readonly batchGroups = new Map<number, BatchGroup>();
  /** Connections corked during the current burst, uncorked together at its end. */
  private readonly corked: Connection[] = [];
  private bursting = false;
  private conflations = 0;
  private stallCloses = 0;

  /**
   * @param announce told when a connection starts being conflated (`true`) and when it has
   * caught up again (`false`), once each way: the hub turns it into a `status` message.
   */
  constructor(
    private readonly settings: FlowSettings,
    private readonly drop: (conn: Connection, code: CloseCode, reason: string) => void,
    private readonly announce: (conn: Connection, conflated: boolean) => void = () => undefined,
  ) {}

  /**
   * A burst of deliveries (one bus message) begins: each socket written to is
   * corked on its first frame, and `endBurst` uncorks them all, so a client
   * that gets several updates from one message gets them in one write.
   */
  beginBurst(): void {
    this.bursting = true;
  }

  /** Always called after beginBurst (finally): a socket left corked would never send again, close frames included. */
  endBurst(): void {
    this.bursting = false;
    const list = this.corked;
    for (let i = 0; i < list.length; i++) {
      list[i].corked = false;
      list[i].burstBytes = 0;
      list[i].uncork();
    }
    list.length = 0;
  }

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
    if (this.backlog(conn) > this.settings.hardLimit) {
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
        g.phases[conn.batchPhase]?.delete(conn);
        if (g.phases.every((p) => p.size === 0)) {
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
      const n = Math.max(1, Math.min(BATCH_PHASES, Math.floor(ms / MIN_PHASE_MS)));
      const phases = Array.from({ length: n }, () => new Set<Connection>());
      const group: BatchGroup = { timer: undefined as unknown as NodeJS.Timeout, phases, tick: 0, assigned: 0 };
      // Every connection is flushed once per `ms`, in the phase it was given.
      group.timer = setInterval(() => {
        const phase = phases[group.tick];
        group.tick = (group.tick + 1) % n;
        if (phase.size === 0) return;
        const ts = new Date().toISOString();
        for (const c of phase) if (c.batch?.length) this.flushBatch(c, ts);
      }, ms / n);
      group.timer.unref();
      g = group;
      this.batchGroups.set(ms, g);
    }
    conn.batchPhase = g.assigned;
    g.assigned = (g.assigned + 1) % g.phases.length;
    g.phases[conn.batchPhase].add(conn);
  }

  /**
   * Writes what is held back for this connection now (its batch, its conflated updates), so a
   * reply sent next (the pong and its last_seq) follows every update it reports. A conflated
   * connection stays conflated: at most one frame per topic is written, then newer ones are
   * held again until it drains.
   */
  flushHeld(conn: Connection): void {
    if (!conn.open) return;
    if (conn.batch?.length) this.flushBatch(conn, new Date().toISOString());
    const pending = conn.conflated;
    if (pending === null || pending.size === 0) return;
    conn.conflated = new Map();
    for (const f of pending.values()) conn.sendFrame(f);
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

  /** What the peer has not taken yet: buffered bytes, minus what this burst's cork holds back. */
  private backlog(conn: Connection): number {
    return conn.bufferedBytes() - conn.burstBytes;
  }

  private send(conn: Connection, frame: OutboundFrame): void {
    const buffered = this.backlog(conn);
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
    if (this.bursting && !conn.corked && conn.cork()) {
      conn.corked = true;
      this.corked.push(conn);
    }
    if (conn.corked) conn.burstBytes += frame.byteLength;
    conn.sendFrame(frame);
  }

  private flushBatch(conn: Connection, timestamp: string): void {
    const batch = conn.batch!;
    conn.batch = null;
    let parts = '';
    for (let i = 0; i < batch.length; i++) parts += (i === 0 ? '' : ',') + batch[i].dataJson;
    const frame = new OutboundFrame('asset_updates', `{"updates":[${parts}]}`, timestamp, null);
    if (conn.conflated !== null || this.backlog(conn) > this.settings.highWater) {
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
    if (!conn.conflationAnnounced) {
      conn.conflationAnnounced = true;
      this.announce(conn, true);
    }
    this.watched.add(conn);
    if (!this.poll) {
      this.poll = setInterval(() => this.check(), this.settings.pollMs);
      this.poll.unref();
    }
    return pending;
  }

  private check(): void {
    this.beginBurst();
    try {
      this.checkConflated();
    } finally {
      this.endBurst();
    }
  }

  private checkConflated(): void {
    const now = Date.now();
    const lowWater = this.settings.highWater / 2;
    for (const conn of this.watched) {
      if (!conn.open || conn.conflated === null) {
        this.watched.delete(conn);
        continue;
      }
      const buffered = this.backlog(conn);
      if (buffered <= lowWater) {
        const pending = conn.conflated;
        conn.conflated = null;
        this.watched.delete(conn);
        for (const f of pending.values()) {
          const again = pendingOf(conn); // send() may have started a new conflation
          if (again !== null) again.set(f.topic ?? `#${again.size}`, f);
          else this.send(conn, f);
        }
        if (pendingOf(conn) === null && conn.conflationAnnounced && conn.open) {
          conn.conflationAnnounced = false;
          this.announce(conn, false);
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
