import { Redis } from 'ioredis';
import { redactUrl } from '../../src/common/startup-error';
import { redisServerInstalled, startRedisServer, type PrivateRedis } from './redis-server';

/** Where the tests' Redis came from. */
export type TestRedisSource = 'TEST_REDIS_URL' | 'default' | 'private';

export interface TestRedis {
  url: string;
  source: TestRedisSource;
  /** Stops the private redis-server (nothing to do for a Redis that was found). */
  close(): Promise<void>;
}

export interface ResolveTestRedisOptions {
  /** The shared Redis tried when TEST_REDIS_URL is unset. */
  defaultUrl?: string;
  /** Whether `redis-server` can be started (default: it is on PATH). */
  redisServerInstalled?: () => boolean;
  /** How long TEST_REDIS_URL may take to answer PING. */
  envTimeoutMs?: number;
  /** How long the default URL may take to answer PING. */
  defaultTimeoutMs?: number;
}

export const DEFAULT_TEST_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Resolves when Redis at `url` answers PING, rejects with the reason otherwise;
 * one connection attempt, no retries, the whole exchange bounded by `timeoutMs`.
 */
export async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  let lastError: Error | undefined;
  r.on('error', (err: Error) => (lastError = err));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await r.connect();
        const answer = await r.ping();
        if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
      })(),
      timeout,
    ]);
  } catch (err) {
    const e = err as Error;
    // ioredis reports a refused connection as "Connection is closed."; the socket error says why.
    throw new Error(lastError && lastError !== e ? `${lastError.message}` : e.message);
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

/** One line, whatever the underlying error looked like. */
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();

/**
 * The tests' Redis, decided once per run:
 * 1. TEST_REDIS_URL when set (it must answer PING within 2 s, or this throws, naming it);
 * 2. else the shared default (redis://127.0.0.1:6379) when it answers PING within 1 s;
 * 3. else a private `redis-server` on a free loopback port, stopped by close();
 * 4. else this throws one line saying what to install or set.
 */
export async function resolveTestRedis(env: NodeJS.ProcessEnv = process.env, opts: ResolveTestRedisOptions = {}): Promise<TestRedis> {
  const defaultUrl = opts.defaultUrl ?? DEFAULT_TEST_REDIS_URL;
  const envUrl = env.TEST_REDIS_URL?.trim();
  if (envUrl) {
    const ms = opts.envTimeoutMs ?? 2_000;
    try {
      await pingRedis(envUrl, ms);
    } catch (err) {
      throw new Error(
        `TEST_REDIS_URL=${redactUrl(envUrl)} does not answer PING within ${ms / 1000} s (${oneLine(err)}): start that Redis, or unset TEST_REDIS_URL to use ${defaultUrl} or a private redis-server`,
      );
    }
    return { url: envUrl, source: 'TEST_REDIS_URL', close: async () => undefined };
  }

  let defaultError: string;
  try {
    await pingRedis(defaultUrl, opts.defaultTimeoutMs ?? 1_000);
    return { url: defaultUrl, source: 'default', close: async () => undefined };
  } catch (err) {
    defaultError = oneLine(err);
  }

  const installed = opts.redisServerInstalled ?? redisServerInstalled;
  if (!installed()) {
    throw new Error(
      `No Redis for the tests: nothing answers PING at ${redactUrl(defaultUrl)} (${defaultError}) and redis-server is not installed: ` +
        `install it (apt-get install redis-server) or set TEST_REDIS_URL=redis://HOST:PORT`,
    );
  }
  let server: PrivateRedis;
  try {
    server = await startRedisServer();
  } catch (err) {
    throw new Error(
      `No Redis for the tests: nothing answers at ${redactUrl(defaultUrl)} and a private redis-server did not start (${oneLine(err)}); set TEST_REDIS_URL=redis://HOST:PORT`,
    );
  }
  try {
    await pingRedis(server.url, 5_000);
  } catch (err) {
    await server.close();
    throw new Error(
      `No Redis for the tests: the private redis-server at ${server.url} does not answer PING (${oneLine(err)}); set TEST_REDIS_URL=redis://HOST:PORT`,
    );
  }
  return { url: server.url, source: 'private', close: () => server.close() };
}
