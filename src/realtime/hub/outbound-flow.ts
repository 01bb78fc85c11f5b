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
 * Held batches are due on a grid of this many ms (one timer per grid slot that has any),
 * so thousands of batched connections share a few timers, at the cost of up to this much
 * extra wait.
 */
export const BATCH_SLOT_MS = 5;

/**
 * Outbound flow control per connection, transport-agnostic:
 * - normal: the shared frame goes straight to the socket;
 * - above the high-water mark: conflated, only the newest pending update per
 *   topic is kept (never an older value after a newer one) and flushed, in
 *   order, once the socket drains below half the mark;
 * - past the hard limit, or conflated for longer than the stall timeout:
 *   closed with 1013 through `drop`.
 * Opt-in batching sends a connection's asset updates as at most one frame per interval
 * (`batchMs`), flushed by the age of what it holds: updates that find the last frame an
 * interval old or more leave at the end of their burst, together, at once; later ones
 * wait until the interval since that frame is over, and then leave in one frame.
 */
export class OutboundFlow {
  private readonly watched = new Set<Connection>();
  private poll: NodeJS.Timeout | null = null;
  /** Batched connections that got their first held update in the current burst: sent or scheduled by endBurst. */
  private readonly burstBatched: Connection[] = [];
  /** Held batches by due time (a BATCH_SLOT_MS grid slot, ms epoch). */
  private readonly dueBatches = new Map<number, Connection[]>();
  private dueTimer: NodeJS.Timeout | null = null;
  private dueTimerAt = Infinity;
  private isoMs = NaN;
  private iso = '';
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
    if (this.burstBatched.length > 0) this.settleBurstBatches();
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
      if (batch.length >= MAX_BATCH) this.flushBatch(conn, Date.now());
      else if (batch.length === 1 && conn.batchDueAt === 0) {
        // The first update held: leaves with its burst if the last frame is an interval old, else when it is.
        if (this.bursting) this.burstBatched.push(conn);
        else this.scheduleBatch(conn, Math.max(Date.now(), conn.batchSentAt + conn.batchMs));
      }
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
    conn.batchMs = 0;
    conn.batchDueAt = 0;
  }

  setBatch(conn: Connection, ms: number): void {
    if (conn.batchMs === ms) return;
    if (conn.batchMs !== 0 && conn.open && conn.batch?.length) this.flushBatch(conn, Date.now());
    conn.batch = null;
    conn.batchDueAt = 0; // a slot still listing it skips it
    conn.batchMs = ms;
  }

  /**
   * Writes what is held back for this connection now (its batch, its conflated updates), so a
   * reply sent next (the pong and its last_seq) follows every update it reports. A conflated
   * connection stays conflated: at most one frame per topic is written, then newer ones are
   * held again until it drains.
   */
  flushHeld(conn: Connection): void {
    if (!conn.open) return;
    if (conn.batch?.length) this.flushBatch(conn, Date.now());
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
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    this.dueTimerAt = Infinity;
    this.dueBatches.clear();
    this.burstBatched.length = 0;
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

  /** End of a burst: each batched connection that got its first held update in it is sent now or scheduled. */
  private settleBurstBatches(): void {
    const list = this.burstBatched;
    const now = Date.now();
    for (let i = 0; i < list.length; i++) {
      const conn = list[i];
      if (!conn.open || !conn.batch?.length || conn.batchDueAt !== 0) continue;
      const due = conn.batchSentAt + conn.batchMs;
      if (due <= now) this.flushBatch(conn, now);
      else this.scheduleBatch(conn, due);
    }
    list.length = 0;
  }

  private scheduleBatch(conn: Connection, due: number): void {
    const slot = Math.ceil(due / BATCH_SLOT_MS) * BATCH_SLOT_MS;
    conn.batchDueAt = slot;
    const list = this.dueBatches.get(slot);
    if (list) list.push(conn);
    else this.dueBatches.set(slot, [conn]);
    if (slot < this.dueTimerAt) {
      if (this.dueTimer) clearTimeout(this.dueTimer);
      this.dueTimerAt = slot;
      this.dueTimer = setTimeout(() => this.flushDue(), Math.max(0, slot - Date.now()));
      this.dueTimer.unref();
    }
  }

  /** Sends every held batch that is due, in one burst (each socket corked once), and re-arms for the next slot. */
  private flushDue(): void {
    this.dueTimer = null;
    this.dueTimerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    this.beginBurst();
    try {
      for (const [slot, list] of this.dueBatches) {
        if (slot > now) {
          if (slot < next) next = slot;
          continue;
        }
        this.dueBatches.delete(slot);
        for (let i = 0; i < list.length; i++) {
          const conn = list[i];
          if (conn.batchDueAt !== slot) continue; // flushed early, or its batching changed
          conn.batchDueAt = 0;
          if (conn.open && conn.batch?.length) this.flushBatch(conn, now);
        }
      }
    } finally {
      this.endBurst();
    }
    if (next !== Infinity && next < this.dueTimerAt) {
      if (this.dueTimer) clearTimeout(this.dueTimer);
      this.dueTimerAt = next;
      this.dueTimer = setTimeout(() => this.flushDue(), Math.max(0, next - Date.now()));
      this.dueTimer.unref();
    }
  }

  private flushBatch(conn: Connection, now: number): void {
    const batch = conn.batch!;
    conn.batch = null;
    conn.batchDueAt = 0;
    conn.batchSentAt = now;
    if (conn.conflated !== null || this.backlog(conn) > this.settings.highWater) {
      // Slow batched consumer: fall back to newest-per-topic like everyone else.
      const pending = conn.conflated ?? this.startConflation(conn);
      for (const f of batch) pending.set(f.topic!, f);
      return;
    }
    let parts = '';
    for (let i = 0; i < batch.length; i++) parts += (i === 0 ? '' : ',') + batch[i].dataJson;
    this.send(conn, new OutboundFrame('asset_updates', `{"updates":[${parts}]}`, this.isoAt(now), null));
  }

  /** `now` as an ISO string, built once per millisecond: a burst or a due slot flushes many batches at the same `now`. */
  private isoAt(now: number): string {
    if (now !== this.isoMs) {
      this.isoMs = now;
      this.iso = new Date(now).toISOString();
    }
    return this.iso;
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
