import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { dbTimeouts, queryTimeoutMs } from '../../database/db-bounds';
import { DatabaseUnavailableError, OutageLog } from '../../database/db-errors';
import type { Connection } from './connection';
import type { InboundRequest } from './inbound-request';
import { RealtimeHub } from './realtime-hub.service';

/** How a lane request ends when its connection closes while it waits: nothing is answered. */
export class LaneClosedError extends Error {
  constructor() {
    super('The connection closed while the request waited');
    this.name = 'LaneClosedError';
  }
}

/** A database-bound request's place in its connection's lane. Owned by RequestLane. */
export class LaneTicket {
  timer: NodeJS.Timeout | null = null;
  /** Rejects at the deadline (or when the connection closes): every wait of the request races it. */
  readonly expired: Promise<never>;
  /** Resolves when the request is first in its lane. */
  readonly turn: Promise<void>;
  /** Topic keys (`a:SYMBOL`, `p:ID`) unsubscribed since the request was received: not added when it completes. */
  cancelled: Set<string> | null = null;
  /** Answered, or about to be applied: its deadline no longer applies. */
  settled = false;
  /** In its lane's queue. */
  queued = true;
  expire!: (err: Error) => void;
  start!: () => void;

  constructor(
    /** When its answer is due (ms epoch): received + DB_STATEMENT_TIMEOUT_MS + 1 s. */
    readonly deadline: number,
  ) {
    this.expired = new Promise<never>((_, reject) => (this.expire = reject));
    this.expired.catch(() => undefined); // raced by the request's waits; nobody may be waiting when it fires
    this.turn = new Promise<void>((resolve) => (this.start = resolve));
  }
}

/** The database-bound requests of one connection, first one running. Owned by RequestLane. */
export class LaneState {
  readonly queue: InboundRequest[] = [];
}

/**
 * The connection's database lane. Requests that may wait on the database
 * (`subscribe_asset`: the catalog; `subscribe_portfolio`: session and ownership, then the
 * snapshot) are handled one at a time, in the order received, each answered within the query
 * timeout (DB_STATEMENT_TIMEOUT_MS + 1 s, from its arrival) or failed with SERVICE_UNAVAILABLE.
 * While one waits, the connection's other messages (`ping`, `list_subscriptions`,
 * `unsubscribe_*`, `set_options`) are answered at once: they never enter the lane. Subscription
 * state still ends as if every message had been handled in order: an unsubscribe cancels that
 * topic in the subscribes pending before it (`cancel`), so one completing later does not add it.
 *
 * A request takes its place with `enter` (its guard or handler, before any database wait),
 * races every database wait against its deadline with `bounded`, stops its deadline with
 * `settle` just before it applies anything, and leaves with `finish` when its pipeline has
 * ended, whichever way (the adapter calls it).
 */
@Injectable()
export class RequestLane {
  /** One line per database outage of the realtime requests, one when it is over. */
  readonly outage = new OutageLog(new Logger('RealtimeRequests'));
  /** The longest a database-bound request may take, from its arrival. */
  readonly timeoutMs: number;

  constructor(config: AppConfig, hub: RealtimeHub) {
    this.timeoutMs = queryTimeoutMs(dbTimeouts(config));
    hub.onRelease((conn) => this.release(conn));
  }

  /**
   * Takes the request's place in its connection's lane (once; later calls only wait) and
   * resolves when it is first in line. Rejects with DatabaseUnavailableError at its deadline,
   * with LaneClosedError if the connection closes first.
   */
  enter(conn: Connection, req: InboundRequest): Promise<void> {
    let ticket = req.ticket;
    if (!ticket) {
      ticket = req.ticket = new LaneTicket(req.receivedAt + this.timeoutMs);
      const t = ticket;
      t.timer = setTimeout(() => this.onDeadline(t), Math.max(0, t.deadline - Date.now()));
      t.timer.unref?.();
      const lane = (conn.lane ??= new LaneState());
      lane.queue.push(req);
      if (lane.queue.length === 1) t.start();
    }
    return Promise.race([ticket.turn, ticket.expired]);
  }

  /** `work` (a database wait of this request), or DatabaseUnavailableError at the request's deadline. */
  async bounded<T>(req: InboundRequest, work: Promise<T>): Promise<T> {
    work.catch(() => undefined); // a late failure after the deadline is nobody's
    const result = await (req.ticket ? Promise.race([work, req.ticket.expired]) : work);
    this.outage.recovered('Realtime requests');
    return result;
  }

  /** The request is about to apply its result: from now on its deadline does not fail it. */
  settle(req: InboundRequest): void {
    const t = req.ticket;
    if (!t) return;
    t.settled = true;
    if (t.timer) clearTimeout(t.timer);
    t.timer = null;
  }

  /** The request's pipeline has ended (answered, failed or past its deadline): the next one in its lane starts. */
  finish(conn: Connection, req: InboundRequest): void {
    const t = req.ticket;
    if (!t?.queued) return;
    this.settle(req);
    t.queued = false;
    const queue = conn.lane?.queue;
    if (!queue) return;
    const i = queue.indexOf(req);
    if (i === -1) return;
    queue.splice(i, 1);
    if (i === 0 && queue.length > 0) queue[0].ticket!.start();
    if (queue.length === 0) conn.lane = null;
  }

  /** An unsubscribe: the subscribes received before it and still pending must not add these topics. */
  cancel(conn: Connection, keys: string[]): void {
    for (const req of conn.lane?.queue ?? []) {
      const t = req.ticket!;
      if (t.settled) continue;
      const cancelled = (t.cancelled ??= new Set());
      for (const k of keys) cancelled.add(k);
    }
  }

  /** Whether `key` was unsubscribed after this request was received. */
  isCancelled(req: InboundRequest, key: string): boolean {
    return req.ticket?.cancelled?.has(key) ?? false;
  }

  /** Waits for `work` (a snapshot) until the request's deadline at most; it goes on, guarded, after that. */
  async untilDeadline(req: InboundRequest, work: Promise<unknown>): Promise<void> {
    const ms = (req.ticket?.deadline ?? req.receivedAt + this.timeoutMs) - Date.now();
    if (ms <= 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /** Database-bound requests of this connection queued or running. */
  size(conn: Connection): number {
    return conn.lane?.queue.length ?? 0;
  }

  /** The request's deadline passed: it fails with SERVICE_UNAVAILABLE now, and nothing of it is applied later. */
  private onDeadline(t: LaneTicket): void {
    t.timer = null;
    if (t.settled) return;
    t.settled = true;
    t.expire(new DatabaseUnavailableError(`the database did not answer within ${this.timeoutMs} ms`));
  }

  /** The connection is gone: its pending requests end, unanswered, with their timers. */
  private release(conn: Connection): void {
    const queue = conn.lane?.queue;
    conn.lane = null;
    for (const req of queue ?? []) {
      const t = req.ticket!;
      t.queued = false;
      this.settle(req);
      t.expire(new LaneClosedError());
    }
  }
}
