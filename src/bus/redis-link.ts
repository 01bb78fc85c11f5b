import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';

/** What `GET /health` reports for Redis. */
export type RedisLinkStatus = 'up' | 'down' | 'not configured';

/** One ioredis client as the link sees it: never connected yet, usable, or lost (ioredis is reconnecting). */
type ClientState = 'connecting' | 'up' | 'down';

interface TrackedClient {
  name: string;
  state: ClientState;
  lastError?: string;
}

/** `host:port` of a Redis URL for messages: never the user name or password. */
export function redisTarget(url: string | undefined): string {
  if (!url) return 'Redis';
  try {
    const u = new URL(url);
    if (u.hostname) return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    // not a URL (ioredis also accepts a socket path): fall through
  }
  return 'Redis';
}

/** What to fix, after the reason of a failed link, when the reason says (credentials, certificates). */
export function redisFailureHint(reason: string): string {
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password|AUTH.*(without|no) password|ERR AUTH/i.test(reason)) {
    return '; check the user name and password in REDIS_URL (redis://:password@host:port or redis://user:password@host:port)';
  }
  if (/certificate|self[- ]signed|unable to verify|unable to get (local )?issuer|SSL|TLS|handshake/i.test(reason)) {
    return '; check the TLS setup: a rediss:// URL, the server certificate matching its host, and REDIS_TLS_CA_FILE for a private CA';
  }
  return '';
}

/**
 * The state of this process's link to Redis: every ioredis client of the process
 * (the bus's publisher and subscriber, the price feed's cache client) is created
 * through `createRedisClient` and reports here. The link is up when all of them are
 * usable (the subscriber only once its subscriptions are confirmed), down as soon as
 * one is lost. Each transition is logged once for the whole process: one warning when
 * the link is lost (or cannot be made at start-up), one line when it is back; ioredis
 * keeps retrying in between without logging anything.
 *
 * One instance per process, provided by BusModule (REDIS_URL unset: "not configured").
 */
export class RedisLinkState {
  readonly target: string;
  readonly configured: boolean;
  /** TLS options of every client of the process (rediss:// with REDIS_TLS_CA_FILE), see redis-tls.ts. */
  readonly tls?: ConnectionOptions;
  private readonly logger = new Logger('Redis');
  private readonly clients = new Map<Redis, TrackedClient>();
  private phase: 'starting' | 'up' | 'down' = 'starting';
  private downSince = 0;

  constructor(url?: string, opts: { tls?: ConnectionOptions } = {}) {
    this.configured = !!url;
    this.target = redisTarget(url);
    this.tls = opts.tls;
  }

  /** "up", "down" (lost, or not connected yet), or "not configured" (REDIS_URL unset). */
  status(): RedisLinkStatus {
    if (!this.configured) return 'not configured';
    return this.phase === 'up' ? 'up' : 'down';
  }

  /** True when this client is connected (a subscriber: with its subscriptions confirmed). */
  isUp(client: Redis): boolean {
    return this.clients.get(client)?.state === 'up';
  }

  /** True when this client was lost or could not connect, and ioredis is retrying. */
  isDown(client: Redis): boolean {
    return this.clients.get(client)?.state === 'down';
  }

  // ----------------------------------------------------- called by createRedisClient / closeRedisClient

  /** @internal */
  track(client: Redis, name: string): void {
    this.clients.set(client, { name, state: 'connecting' });
  }

  /** @internal A client being closed on purpose: its closing is not an outage. */
  untrack(client: Redis): void {
    this.clients.delete(client);
  }

  /** @internal */
  noteError(client: Redis, err: Error): void {
    const c = this.clients.get(client);
    if (c) c.lastError = err.message || err.name;
    // Nothing is logged here: the one warning goes out when the link is lost (see update()).
  }

  /** @internal */
  markUp(client: Redis): void {
    const c = this.clients.get(client);
    if (!c) return;
    c.state = 'up';
    c.lastError = undefined;
    this.update();
  }

  /** @internal */
  markDown(client: Redis): void {
    const c = this.clients.get(client);
    if (!c) return;
    c.state = 'down';
    this.update();
  }

  private update(): void {
    const states = [...this.clients.values()];
    const down = states.find((c) => c.state === 'down');
    if (down && this.phase !== 'down') {
      const error = down.lastError ?? 'connection closed';
      const hint = redisFailureHint(error);
      const reason = hint ? error.replace(/\.$/, '') + hint : error;
      if (this.phase === 'up') {
        this.logger.warn(
          `Redis link to ${this.target} lost (${reason}): prices and portfolio changes from other processes stop arriving ` +
            `until it is back (this process's own still reach its clients); reconnecting in the background`,
        );
      } else {
        this.logger.warn(
          `Redis link to ${this.target} could not be established at start-up (${reason}): prices and portfolio changes ` +
            `from other processes will not arrive until it is up; reconnecting in the background`,
        );
      }
      this.phase = 'down';
      this.downSince = Date.now();
    } else if (!down && states.length > 0 && states.every((c) => c.state === 'up') && this.phase !== 'up') {
      if (this.phase === 'down') {
        const secs = ((Date.now() - this.downSince) / 1000).toFixed(1);
        this.logger.log(
          `Redis link to ${this.target} is back after ${secs} s: subscriptions restored, prices and portfolio changes from other processes arrive again`,
        );
      } else {
        this.logger.log(`Connected to Redis at ${this.target}`);
      }
      this.phase = 'up';
    }
  }
}
