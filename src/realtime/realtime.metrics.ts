import { Counter, Gauge, Histogram, register } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { RedisLinkState } from '../bus/redis-link';
import type { Connection, TransportKind } from './hub/connection';
import type { OutboundFlow } from './hub/outbound-flow';
import type { SubscriptionIndex } from './hub/subscription-index';
import { CLIENT_MESSAGE_TYPES } from './protocol/client-messages';
import { ErrorCode } from './protocol/error-codes';

/*
 * Every realtime metric, on prom-client's default registry (GET /metrics), created once per
 * process (get-or-create, like src/price-feed/metrics.ts). Documented in docs/operations.md
 * ("Metrics"). Two kinds:
 *  - read at scrape time (`collect`) from the hubs that are running (connections, subscriptions,
 *    frames and deliveries, conflation): nothing is added to the fan-out path for them;
 *  - counted where it happens (inbound messages, handshakes, limit refusals) and the fan-out
 *    latency histogram, observed once per price frame after the burst is written, not per delivery.
 */

function counter<L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (this: Counter<L>) => void): Counter<L> {
  return (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, ...(collect ? { collect } : {}) });
}

function gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect?: (this: Gauge<L>) => void): Gauge<L> {
  return (register.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, ...(collect ? { collect } : {}) });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
  return (register.getSingleMetric(name) as Histogram<L> | undefined) ?? new Histogram({ name, help, labelNames, buckets });
}

/** What the scrape reads from one running hub (RealtimeHub binds itself with watchRealtimeHub). */
export interface RealtimeMetricsSource {
  connections(): Iterable<Connection>;
  readonly index: SubscriptionIndex;
  readonly flow: OutboundFlow;
  /** The hub's own running counters (mutated in place by the fan-out). */
  readonly counters: {
    readonly ticks: number;
    readonly ticks_dropped: number;
    readonly asset_frames: number;
    readonly portfolio_frames: number;
    /** Asset and portfolio deliveries together. */
    readonly deliveries: number;
    readonly asset_deliveries: number;
  };
}

/** The hubs of this process (one per running app; tests may run several in one process): figures are summed. */
const sources = new Set<RealtimeMetricsSource>();

/** Registers a hub for the scrape; returns the function that unregisters it (module destroy). */
export function watchRealtimeHub(source: RealtimeMetricsSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

function sum(read: (s: RealtimeMetricsSource) => number): number {
  let n = 0;
  for (const s of sources) n += read(s);
  return n;
}

const TRANSPORTS: readonly TransportKind[] = ['websocket', 'socketio', 'sse'];

/** The `type` label of inbound messages: a client message type, else `unknown` (bounded cardinality). */
const KNOWN_TYPES: ReadonlySet<string> = new Set(CLIENT_MESSAGE_TYPES);
export function inboundTypeLabel(type: string | null | undefined): string {
  return type != null && KNOWN_TYPES.has(type) ? type : 'unknown';
}

/** Results of a handshake (`realtime_handshakes_total{result}`). */
export type HandshakeResult = 'accepted' | 'origin_refused' | 'limit' | 'unavailable' | 'shutting_down' | 'bad_request';

/** Limits that refuse a message or a connection (`realtime_limit_refusals_total{limit}`). */
export type RefusedLimit =
  | 'connections_per_user'
  | 'subscriptions_per_connection'
  | 'rate_limit'
  | 'rate_limit_close'
  | 'inbound_queue'
  | 'payload_size'
  | 'idle_timeout'
  | 'protocol_errors';

/** Fan-out latency buckets (seconds): a few ms on a quiet instance, up to seconds when saturated. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const realtimeMetrics = {
  connections: gauge(
    'realtime_connections',
    'Open realtime connections on this instance, by transport and whether logged in',
    ['transport', 'authenticated'],
    function () {
      const counts = { websocket: [0, 0], socketio: [0, 0], sse: [0, 0] };
      for (const s of sources) for (const c of s.connections()) counts[c.kind][c.userId === null ? 0 : 1]++;
      for (const t of TRANSPORTS) {
        this.set({ transport: t, authenticated: 'false' }, counts[t][0]);
        this.set({ transport: t, authenticated: 'true' }, counts[t][1]);
      }
    },
  ),
  subscriptions: gauge('realtime_subscriptions', 'Subscriptions held by the connections of this instance (connection x topic), by kind', ['kind'], function () {
    let assets = 0;
    let portfolios = 0;
    for (const s of sources) {
      const st = s.index.stats();
      assets += st.asset_subscriptions;
      portfolios += st.portfolio_subscriptions;
    }
    this.set({ kind: 'asset' }, assets);
    this.set({ kind: 'portfolio' }, portfolios);
  }),
  inbound: counter(
    'realtime_inbound_messages_total',
    'Client messages answered, by message type (unknown for anything else) and outcome (ok, or the error code of the reply)',
    ['type', 'outcome'],
  ),
  ticks: counter(
    'realtime_price_ticks_total',
    'Price ticks received from the bus by the fan-out: used, or dropped (invalid, or older than the last one)',
    ['outcome'],
    function () {
      this.reset();
      this.inc(
        { outcome: 'used' },
        sum((s) => s.counters.ticks),
      );
      this.inc(
        { outcome: 'dropped' },
        sum((s) => s.counters.ticks_dropped),
      );
    },
  ),
  frames: counter(
    'realtime_frames_total',
    'Update frames built by the fan-out (one per changed symbol or portfolio, shared by its subscribers), by message type',
    ['type'],
    function () {
      this.reset();
      this.inc(
        { type: 'asset_update' },
        sum((s) => s.counters.asset_frames),
      );
      this.inc(
        { type: 'portfolio_update' },
        sum((s) => s.counters.portfolio_frames),
      );
    },
  ),
  deliveries: counter(
    'realtime_deliveries_total',
    'Update frames handed to subscribers (one per subscriber and frame; a conflated one may later be replaced by a newer value), by message type',
    ['type'],
    function () {
      this.reset();
      const assets = sum((s) => s.counters.asset_deliveries);
      this.inc({ type: 'asset_update' }, assets);
      this.inc({ type: 'portfolio_update' }, sum((s) => s.counters.deliveries) - assets);
    },
  ),
  conflatedConnections: gauge(
    'realtime_conflated_connections',
    'Connections conflated right now (slow readers: only the newest update per topic is kept)',
    [],
    function () {
      this.set(sum((s) => s.flow.stats().conflated_connections));
    },
  ),
  conflations: counter('realtime_conflations_total', 'Times a connection fell behind and started being conflated', [], function () {
    this.reset();
    this.inc(sum((s) => s.flow.stats().conflations_total));
  }),
  slowConsumerCloses: counter(
    'realtime_slow_consumer_closes_total',
    'Connections closed (1013) because their outbound buffer passed WS_BUFFER_HARD_LIMIT or stayed conflated longer than WS_STALL_TIMEOUT',
    [],
    function () {
      this.reset();
      this.inc(sum((s) => s.flow.stats().slow_consumer_closes));
    },
  ),
  limitRefusals: counter('realtime_limit_refusals_total', 'Messages or connections refused or closed by a limit, by limit', ['limit']),
  handshakes: counter('realtime_handshakes_total', 'Connection attempts by transport and result', ['transport', 'result']),
  resumes: counter(
    'realtime_resumes_total',
    'Symbols resumed after a reconnect (since_seq / since / Last-Event-ID), by outcome: recovered (the missed updates replayed from the history) or snapshot (not in the history: the current price sent instead)',
    ['outcome'],
  ),
  replayed: counter('realtime_replayed_updates_total', 'Updates replayed to resuming clients from the per-symbol history', []),
  fanoutLatency: histogram(
    'realtime_fanout_latency_seconds',
    'Time from the commit of a price batch (its published_at) to its asset_update frames being written to the sockets, one observation per frame',
    [],
    LATENCY_BUCKETS,
  ),
  dependencyUp: gauge(
    'realtime_dependency_up',
    'Whether a dependency answers (1) or not (0), checked at scrape time: postgres (SELECT 1 within 1 s), redis (the link state; no sample without REDIS_URL)',
    ['dependency'],
  ),
};

/** One client message answered: `ok`, or the code of its error reply (RealtimeExceptionFilter). */
export function countInbound(type: string | null | undefined, outcome: ErrorCode | 'ok'): void {
  realtimeMetrics.inbound.inc({ type: inboundTypeLabel(type), outcome });
  if (outcome === ErrorCode.SUBSCRIPTION_LIMIT) realtimeMetrics.limitRefusals.inc({ limit: 'subscriptions_per_connection' });
  else if (outcome === ErrorCode.RATE_LIMITED) realtimeMetrics.limitRefusals.inc({ limit: 'rate_limit' });
}

/** One handshake's result; `limit` (MAX_CONNECTIONS_PER_USER) is also a limit refusal. */
export function countHandshake(transport: TransportKind, result: HandshakeResult): void {
  realtimeMetrics.handshakes.inc({ transport, result });
  if (result === 'limit') realtimeMetrics.limitRefusals.inc({ limit: 'connections_per_user' });
}

/** One resuming subscribe: how many symbols were recovered (with how many updates replayed) and how many got a snapshot instead. */
export function countResume(recovered: number, snapshot: number, replayed: number): void {
  if (recovered > 0) realtimeMetrics.resumes.inc({ outcome: 'recovered' }, recovered);
  if (snapshot > 0) realtimeMetrics.resumes.inc({ outcome: 'snapshot' }, snapshot);
  if (replayed > 0) realtimeMetrics.replayed.inc(replayed);
}

export function countLimitRefusal(limit: RefusedLimit, n = 1): void {
  if (n > 0) realtimeMetrics.limitRefusals.inc({ limit }, n);
}

/**
 * The fan-out of one bus message wrote `frames` asset_update frames (corked, written together at
 * the end of the burst): one observation each, of now − `publishedAt` (clamped at 0 for clock skew).
 */
export function observeFanout(publishedAt: number, frames: number): void {
  const seconds = Math.max(0, Date.now() - publishedAt) / 1000;
  for (let i = 0; i < frames; i++) realtimeMetrics.fanoutLatency.observe(seconds);
}

/** The longest a scrape waits for PostgreSQL to answer SELECT 1. */
export const DEPENDENCY_CHECK_TIMEOUT_MS = 1000;

/** The SELECT 1 in flight per database: a scrape never starts a second one while the first has not come back. */
const inFlight = new WeakMap<DataSource, Promise<boolean>>();

/** Whether `db` answers SELECT 1 within `timeoutMs` (false when not, or when it fails). */
export function databaseAnswers(db: DataSource, timeoutMs = DEPENDENCY_CHECK_TIMEOUT_MS): Promise<boolean> {
  if (!db.isInitialized) return Promise.resolve(false);
  let check = inFlight.get(db);
  if (!check) {
    check = db.query('SELECT 1').then(
      () => true,
      () => false,
    );
    const settled = check;
    inFlight.set(db, settled);
    void settled.finally(() => {
      if (inFlight.get(db) === settled) inFlight.delete(db);
    });
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  return Promise.race([check, late]).finally(() => clearTimeout(timer));
}

/** Sets `realtime_dependency_up` before a scrape: PostgreSQL by a bounded SELECT 1, Redis from the link state. */
export async function refreshDependencyGauges(
  deps: { database?: DataSource | null; redis?: RedisLinkState | null },
  timeoutMs = DEPENDENCY_CHECK_TIMEOUT_MS,
): Promise<void> {
  const g = realtimeMetrics.dependencyUp;
  if (deps.redis) {
    const status = deps.redis.status();
    if (status === 'not configured') g.remove({ dependency: 'redis' });
    else g.set({ dependency: 'redis' }, status === 'up' ? 1 : 0);
  }
  if (deps.database) g.set({ dependency: 'postgres' }, (await databaseAnswers(deps.database, timeoutMs)) ? 1 : 0);
}
