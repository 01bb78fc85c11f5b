import { Redis } from 'ioredis';
import type { RedisLinkState } from './redis-link';

/** Longest pause between two reconnection attempts. */
export const REDIS_MAX_RETRY_DELAY_MS = 2_000;
/** How long one connection attempt may take (an unreachable host that drops packets). */
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** ioredis retryStrategy: 100, 200, 400, 800, 1600, then every 2000 ms, forever (never gives up). */
export function redisRetryDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(attempt - 1, 0), 5), REDIS_MAX_RETRY_DELAY_MS);
}

export interface RedisClientOptions {
  /** CLIENT SETNAME, e.g. rm-pub. */
  name: string;
  /**
   * A pub/sub subscriber: commands (SUBSCRIBE) issued while Redis is away wait for it
   * (no retry limit), and ioredis re-subscribes its channels after every reconnection.
   * Other clients fail fast while the link is down, so no caller waits on a dead Redis.
   */
  subscriber?: boolean;
  /** Non-subscribers: reconnection attempts a queued command survives before it fails (default 1). */
  maxRetriesPerRequest?: number;
}

/**
 * The one place ioredis clients are built: shared options (bounded reconnection backoff,
 * connect timeout, auto-resubscribe) and the listeners that report the client's state to
 * the process's RedisLinkState, which logs the link's losses and recoveries once. No
 * per-retry logging: the 'error' listener only records the reason for that one line.
 */
export function createRedisClient(url: string, link: RedisLinkState, opts: RedisClientOptions): Redis {
  const subscriber = !!opts.subscriber;
  const client = new Redis(url, {
    connectionName: opts.name,
    lazyConnect: false,
    enableReadyCheck: !subscriber, // no INFO on rm-sub: a SUBSCRIBE sent during the handshake (ioredis allows it) makes INFO fail with "Connection in subscriber mode" (ioredis #2037)
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    retryStrategy: redisRetryDelay,
    autoResubscribe: true,
    // Commands issued before the first connection wait for it (start-up ordering);
    // a non-subscriber stops queueing once the link is down (see 'close' below).
    enableOfflineQueue: true,
    maxRetriesPerRequest: subscriber ? null : (opts.maxRetriesPerRequest ?? 1),
    // rediss:// with REDIS_TLS_CA_FILE: the private CA (ioredis turns TLS on for rediss:// URLs itself).
    ...(link.tls && /^rediss:/i.test(url) ? { tls: link.tls } : {}),
  });
  link.track(client, opts.name);

  let epoch = 0;
  client.on('ready', () => {
    const mine = ++epoch;
    if (!subscriber) client.options.enableOfflineQueue = true;
    // On 'ready' ioredis has already re-sent SUBSCRIBE for the channels of the lost connection
    // (autoResubscribe) and the SUBSCRIBEs queued while offline; the PING's reply comes after
    // theirs, so "up" means the subscriptions are active again, not merely that TCP is back.
    client.ping().then(
      () => {
        if (mine === epoch && client.status === 'ready') link.markUp(client);
      },
      () => undefined, // the connection went away again: 'close' reports it
    );
  });
  client.on('close', () => {
    epoch++;
    // While the link is down, commands of non-subscribers fail at once instead of waiting for a reconnection.
    if (!subscriber) client.options.enableOfflineQueue = false;
    link.markDown(client);
  });
  // Required (ioredis prints unhandled 'error' events with their stack); the reason goes into the link's one warning.
  client.on('error', (err: Error) => link.noteError(client, err));
  return client;
}

/**
 * Closes a client made by createRedisClient on purpose (shutdown): not reported as an
 * outage, QUIT bounded in time when connected, a plain disconnect otherwise.
 */
export async function closeRedisClient(link: RedisLinkState, client: Redis, opts: { quit?: boolean; timeoutMs?: number } = {}): Promise<void> {
  link.untrack(client);
  if ((opts.quit ?? true) && client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, opts.timeoutMs ?? 1_000);
      }),
    ]);
    clearTimeout(timer);
  }
  client.disconnect();
}
