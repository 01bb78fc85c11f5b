import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { BusHandler, BusMessages, BusTopic } from './bus.messages';
import { MessageBus } from './message-bus';
import { closeRedisClient, createRedisClient } from './redis-connection';
import { RedisLinkState } from './redis-link';

/**
 * Redis pub/sub: one connection publishes, one subscribes; JSON payloads on `rm:<topic>` channels.
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
  private readonly pending = new Set<Promise<unknown>>();
  private readonly prefix: string;
  private closing = false;

  constructor(url: string, prefix = 'rm:', link?: RedisLinkState) {
    super();
    this.prefix = prefix;
    this.link = link ?? new RedisLinkState(url);
    this.pub = createRedisClient(url, this.link, { name: 'rm-pub', maxRetriesPerRequest: 1 });
    this.sub = createRedisClient(url, this.link, { name: 'rm-sub', subscriber: true });
    this.sub.on('message', (channel: string, raw: string) => {
      if (channel.startsWith(this.prefix)) this.dispatch(channel.slice(this.prefix.length), raw);
    });
  }

  async publish<K extends BusTopic>(topic: K, message: BusMessages[K]): Promise<void> {
    const raw = JSON.stringify(message);
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
      // The subscriber queues SUBSCRIBE while Redis is away and ioredis re-subscribes after reconnections.
      const p = this.sub.subscribe(this.prefix + topic).catch((err: Error) => {
        if (!this.closing) this.logger.error(`SUBSCRIBE ${topic} failed: ${err.message}`);
      });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
    set.add(handler as BusHandler<BusTopic>);
    return () => {
      set.delete(handler as BusHandler<BusTopic>);
    };
  }

  /** Bounded: rejects when the subscriptions are not active within `timeoutMs` (Redis unreachable). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const pending = [...this.pending];
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis subscriptions not active after ${timeoutMs} ms (Redis link to ${this.link.target} is ${this.link.status()})`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.all(pending), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all([closeRedisClient(this.link, this.sub, { quit: false }), closeRedisClient(this.link, this.pub)]);
  }

  private dispatch(topic: string, raw: string): void {
    const set = this.handlers.get(topic);
    if (!set) return;
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      this.logger.warn(`Dropped malformed message on ${this.prefix}${topic}`);
      return;
    }
    for (const h of set) {
      try {
        h(msg as BusMessages[BusTopic]);
      } catch (err) {
        this.logger.error(`Handler for ${topic} failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
