import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BusDropLog, type BusDropLogOptions } from './bus-drops';
import { BUS_TOPICS, checkBusMessage, MAX_BUS_MESSAGE_CHARS } from './bus-message.validator';
import { BusSigner } from './bus-signer';
import { BusHandler, BusMessages, BusTopic } from './bus.messages';
import { MessageBus } from './message-bus';
import { closeRedisClient, createRedisClient } from './redis-connection';
import { RedisLinkState } from './redis-link';

export interface RedisBusOptions {
  /** BUS_SECRET (or the development secret from DATA_DIR/bus-secret): signs what is published, checks what arrives. */
  secret: string | Buffer;
  /** How drops are logged (tests: a shorter interval, a logger of their own). */
  dropLog?: BusDropLogOptions;
}

const TOPICS: ReadonlySet<string> = new Set(BUS_TOPICS);

/**
 * Redis pub/sub: one connection publishes, one subscribes; signed JSON envelopes on
 * `<prefix><topic>` channels (bus-signer.ts, docs/bus.md).
 *
 * Everything that arrives from Redis is untrusted: dispatch() drops, before any handler
 * sees it, what is too large, unsigned or wrongly signed (`bad_signature`), not JSON, or
 * not of its topic's schema (bus-message.validator.ts); drops are counted
 * (realtime_bus_messages_dropped_total{topic,reason}) and logged at most once a minute
 * (BusDropLog). Handlers receive only checked messages of their topic's exact types.
 *
 * While the Redis link is down (RedisLinkState), messages of this process still reach
 * this process's subscribers (delivered here instead of through Redis); messages of
 * other processes and instances arrive again once the link and its subscriptions are back.
 */
@Injectable()
export class RedisBus extends MessageBus implements OnApplicationShutdown {
  readonly kind = 'redis' as const;
  readonly link: RedisLinkState;
  private readonly logger = new Logger('RedisBus');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<BusHandler<BusTopic>>>();
  /** SUBSCRIBEs not acknowledged yet; a settled entry is removed. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Topics whose SUBSCRIBE failed (Redis refused the connection's AUTH, for one): sent again on the next 'ready'. */
  private readonly failed = new Set<string>();
  private readonly prefix: string;
  private readonly signer: BusSigner;
  private readonly drops: BusDropLog;
  private closing = false;

  constructor(url: string, prefix: string, link: RedisLinkState | undefined, opts: RedisBusOptions) {
    super();
    this.prefix = prefix;
    this.signer = new BusSigner(opts.secret);
    this.drops = new BusDropLog(opts.dropLog);
    this.link = link ?? new RedisLinkState(url);
    this.pub = createRedisClient(url, this.link, { name: 'rm-pub', maxRetriesPerRequest: 1 });
    this.sub = createRedisClient(url, this.link, { name: 'rm-sub', subscriber: true });
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel.startsWith(this.prefix)) this.dispatch(channel.slice(this.prefix.length), raw);
    });
    // Before createRedisClient's own 'ready' listener (its PING marks the link up): re-send
    // the SUBSCRIBEs that failed, so "up" still means every subscription is active.
    this.sub.prependListener('ready', () => {
      for (const topic of [...this.failed]) this.subscribeChannel(topic);
    });
  }

  async publish<K extends BusTopic>(topic: K, message: BusMessages[K]): Promise<void> {
    const raw = this.signer.seal(topic, JSON.stringify(message));
    let sent = false;
    // A lost publisher fails fast (no offline queue), so this never waits for a dead Redis.
    if (!this.link.isDown(this.pub)) {
      try {
        await this.pub.publish(this.prefix + topic, raw);
        sent = true;
      } catch (err) {
        this.logger.debug(`PUBLISH ${topic} failed, delivering in this process only: ${(err as Error).message}`);
      }
    }
    // This process normally receives its own messages back through its subscription; while
    // that path is broken, deliver them here (on a later tick, as the network would).
    if (!sent || this.link.isDown(this.sub)) setImmediate(() => this.dispatch(topic, raw));
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      this.subscribeChannel(topic);
    }
    set.add(handler as BusHandler<BusTopic>);
    return () => {
      set.delete(handler as BusHandler<BusTopic>);
    };
  }

  /**
   * The subscriber queues SUBSCRIBE while Redis is away and ioredis re-subscribes after reconnections.
   * One that fails (the connection's AUTH refused: the link's one warning says why) is sent again on
   * the next 'ready'; no line per topic.
   */
  private subscribeChannel(topic: string): void {
    this.failed.delete(topic);
    const p = this.sub.subscribe(this.prefix + topic).then(
      () => undefined,
      (err: Error) => {
        if (this.closing) return;
        this.failed.add(topic);
        if (this.sub.status === 'ready') {
          // Refused on a working connection (an ACL user without rights on the channel): the link looks up, so say it, once per topic.
          this.logger.error(
            `Redis refused SUBSCRIBE ${this.prefix}${topic} (${err?.message}): messages of that topic from other processes do not arrive; check the Redis user's channel permissions (tried again after a reconnection)`,
          );
        } else {
          this.logger.debug(`SUBSCRIBE ${topic} failed (${err?.message}); sent again when the link is back`);
        }
      },
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Bounded: rejects when the subscriptions are not active within `timeoutMs` (Redis unreachable, or refusing this client). */
  async ready(timeoutMs = 10_000): Promise<void> {
    if (this.pending.size === 0 && this.failed.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis subscriptions not active after ${timeoutMs} ms (Redis link to ${this.link.target} is ${this.link.status()})`)),
        timeoutMs,
      );
    });
    try {
      // Bounded by the timeout (and in count): a failed SUBSCRIBE is re-sent on 'ready', then waited for again.
      for (let round = 0; round < 1_000 && (this.pending.size > 0 || this.failed.size > 0); round++) {
        const waitFor =
          this.pending.size > 0
            ? Promise.all([...this.pending])
            : new Promise<void>((resolve) => {
                onReady = () => setImmediate(resolve);
                this.sub.once('ready', onReady);
              });
        await Promise.race([waitFor, timeout]);
        if (onReady) this.sub.off('ready', onReady);
        onReady = undefined;
      }
    } finally {
      clearTimeout(timer);
      if (onReady) this.sub.off('ready', onReady);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.drops.close();
    await Promise.all([closeRedisClient(this.link, this.sub, { quit: false }), closeRedisClient(this.link, this.pub)]);
  }

  /** Every message from Redis (and this process's own while the link is down) comes through here: checked once, then handed out. */
  private dispatch(topic: string, raw: unknown): void {
    if (!TOPICS.has(topic)) return;
    const set = this.handlers.get(topic);
    if (!set || set.size === 0) return;
    const msg = this.receive(topic as BusTopic, raw);
    if (msg === undefined) return;
    for (const h of set) {
      try {
        h(msg);
      } catch (err) {
        this.logger.error(`Handler for ${topic} failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
  }

  /** The checked message, or undefined when it is dropped (counted; logged by BusDropLog). Never throws. */
  private receive<K extends BusTopic>(topic: K, raw: unknown): BusMessages[K] | undefined {
    try {
      if (typeof raw !== 'string') {
        this.drops.message(topic, 'bad_signature');
        return undefined;
      }
      if (raw.length > MAX_BUS_MESSAGE_CHARS) {
        this.drops.message(topic, 'too_large');
        return undefined;
      }
      const opened = this.signer.open(topic, raw);
      if (!opened.ok) {
        this.drops.message(topic, opened.reason);
        return undefined;
      }
      let value: unknown;
      try {
        value = JSON.parse(opened.body);
      } catch {
        this.drops.message(topic, 'not_json');
        return undefined;
      }
      const checked = checkBusMessage(topic, value);
      if (checked.droppedTicks) this.drops.droppedTicks(checked.droppedTicks);
      if (!checked.ok) {
        this.drops.message(topic, checked.reason);
        return undefined;
      }
      return checked.message;
    } catch {
      // Not expected (the checks do not throw); whatever it was, the message is not delivered.
      this.drops.message(topic, 'invalid');
      return undefined;
    }
  }
}
