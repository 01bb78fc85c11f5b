import { Logger } from '@nestjs/common';
import { Counter, register } from 'prom-client';
import type { BusDropReason } from './bus-message.validator';

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (register.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames });
}

/** Bus metrics on prom-client's default registry (GET /metrics), created once per process. */
export const busMetrics = {
  messagesDropped: counter(
    'realtime_bus_messages_dropped_total',
    'Messages received on the Redis bus and dropped before any handler saw them, by topic and reason',
    ['topic', 'reason'],
  ),
  ticksDropped: counter('realtime_bus_ticks_dropped_total', 'Ticks taken out of a prices.committed batch received on the Redis bus, by reason', ['reason']),
};

/** How often, at most, drops are logged (one line summarising them). */
const BUS_DROP_LOG_INTERVAL_MS = 60_000;

export interface BusDropLogOptions {
  intervalMs?: number;
  logger?: Pick<Logger, 'warn'>;
  now?: () => number;
}

/**
 * Counts what the Redis bus drops (Prometheus counters, at once) and says so in the log
 * at most once per interval: the first drop after a quiet interval is logged at once,
 * later ones are summarised in one line (counts by topic and reason) when the interval
 * is over. Never a line or a stack trace per message, whatever arrives.
 */
export class BusDropLog {
  private readonly intervalMs: number;
  private readonly logger: Pick<Logger, 'warn'>;
  private readonly now: () => number;
  /** Drops not logged yet: "topic reason" → count (messages), "reason" → count (ticks). */
  private readonly messages = new Map<string, number>();
  private readonly ticks = new Map<string, number>();
  private lastLog = -Infinity;
  private timer?: NodeJS.Timeout;
  private since = 0;

  constructor(opts: BusDropLogOptions = {}) {
    this.intervalMs = opts.intervalMs ?? BUS_DROP_LOG_INTERVAL_MS;
    this.logger = opts.logger ?? new Logger('Bus');
    this.now = opts.now ?? Date.now;
  }

  /** A whole message dropped. */
  message(topic: string, reason: BusDropReason): void {
    busMetrics.messagesDropped.inc({ topic, reason });
    const key = `${topic} ${reason}`;
    this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
    this.schedule();
  }

  /** Ticks taken out of a prices.committed batch (the message itself went on, or was counted by message()). */
  droppedTicks(reasons: readonly BusDropReason[]): void {
    for (const reason of reasons) {
      busMetrics.ticksDropped.inc({ reason });
      this.ticks.set(reason, (this.ticks.get(reason) ?? 0) + 1);
    }
    if (reasons.length > 0) this.schedule();
  }

  /** Logs what is pending now (shutdown) and stops the timer. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  private schedule(): void {
    if (this.messages.size + this.ticks.size === 0) return;
    if (this.since === 0) this.since = this.now();
    const wait = this.lastLog + this.intervalMs - this.now();
    if (wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.flush();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, wait);
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.messages.size + this.ticks.size === 0) return;
    const now = this.now();
    const secs = Math.max(0, Math.round((now - this.since) / 1000));
    const parts: string[] = [];
    let total = 0;
    const byTopic = new Map<string, string[]>();
    for (const [key, n] of [...this.messages].sort()) {
      const [topic, reason] = key.split(' ');
      total += n;
      if (!byTopic.has(topic)) byTopic.set(topic, []);
      byTopic.get(topic)!.push(`${reason} ${n}`);
    }
    for (const [topic, list] of byTopic) parts.push(`${topic}: ${list.join(', ')}`);
    let tickTotal = 0;
    const tickParts: string[] = [];
    for (const [reason, n] of [...this.ticks].sort()) {
      tickTotal += n;
      tickParts.push(`${reason} ${n}`);
    }
    const what = [
      total > 0 ? `${total} message(s) (${parts.join('; ')})` : '',
      tickTotal > 0 ? `${tickTotal} invalid tick(s) of price batches (${tickParts.join(', ')})` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const window = secs > 0 ? `in the last ${secs} s` : 'just now';
    this.logger.warn(
      `Dropped ${what} received on the Redis bus ${window}: unsigned, wrongly signed or invalid ` +
        `(realtime_bus_messages_dropped_total; next summary in ${Math.round(this.intervalMs / 1000)} s at the earliest)`,
    );
    this.messages.clear();
    this.ticks.clear();
    this.lastLog = now;
    this.since = 0;
  }
}
