import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { BusHandler, BusMessages, BusTopic } from './bus.messages';
import { MessageBus } from './message-bus';

/** Redis pub/sub: one connection publishes, one subscribes; JSON payloads on `rm:<topic>` channels. */
@Injectable()
export class RedisBus extends MessageBus implements OnApplicationShutdown {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('RedisBus');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<BusHandler<BusTopic>>>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly prefix: string;

  constructor(url: string, prefix = 'rm:') {
    super();
    this.prefix = prefix;
    const opts = { lazyConnect: false, maxRetriesPerRequest: 3, enableReadyCheck: true };
    this.pub = new Redis(url, { ...opts, connectionName: 'rm-pub' });
    this.sub = new Redis(url, { ...opts, connectionName: 'rm-sub' });
    for (const [name, c] of [['pub', this.pub], ['sub', this.sub]] as const) {
      c.on('error', (err) => this.logger.warn(`Redis ${name}: ${err.message}`));
    }
    this.sub.on('message', (channel: string, raw: string) => {
      const topic = channel.slice(this.prefix.length);
      const set = this.handlers.get(topic);
      if (!set) return;
      let msg: unknown;
      try {
        msg = JSON.parse(raw);
      } catch {
        this.logger.warn(`Dropped malformed message on ${channel}`);
        return;
      }
      for (const h of set) {
        try {
          h(msg as BusMessages[BusTopic]);
        } catch (err) {
          this.logger.error(`Handler for ${topic} failed: ${(err as Error).stack ?? err}`);
        }
      }
    });
  }

  async publish<K extends BusTopic>(topic: K, message: BusMessages[K]): Promise<void> {
    await this.pub.publish(this.prefix + topic, JSON.stringify(message));
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>): () => void {
    let set = this.handlers.get(topic);
    if (!set) {
      set = new Set();
      this.handlers.set(topic, set);
      const p = this.sub.subscribe(this.prefix + topic).catch((err: Error) => {
        this.logger.error(`SUBSCRIBE ${topic} failed: ${err.message}`);
      });
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
    set.add(handler as BusHandler<BusTopic>);
    return () => {
      set.delete(handler as BusHandler<BusTopic>);
    };
  }

  async ready(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async onApplicationShutdown(): Promise<void> {
    this.sub.disconnect();
    await this.pub.quit().catch(() => this.pub.disconnect());
  }
}
