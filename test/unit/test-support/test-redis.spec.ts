import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../src/database/embedded-postgres';
import { redisServerInstalled, startRedisServer } from '../../support/redis-server';
import { redactUrl } from '../../../src/common/startup-error';
import { pingRedis, resolveTestRedis } from '../../support/test-redis';

/** A loopback URL nothing listens on (a port just bound and released). */
async function deadUrl(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

/** The error `p` rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  const settled = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (settled.ok) throw new Error(`expected a rejection, got ${JSON.stringify(settled.v)}`);
  expect(settled.e).toBeInstanceOf(Error);
  return settled.e as Error;
}

describe('resolveTestRedis', () => {
  it('uses TEST_REDIS_URL when it answers, whatever the default is', async () => {
    const server = await resolveTestRedis({}, { defaultUrl: await deadUrl(), redisServerInstalled: () => true });
    try {
      const found = await resolveTestRedis({ TEST_REDIS_URL: server.url }, { defaultUrl: await deadUrl(), redisServerInstalled: () => false });
      expect(found).toMatchObject({ url: server.url, source: 'TEST_REDIS_URL' });
      await found.close(); // nothing to stop: it was found, not started
      await pingRedis(server.url, 2_000);
    } finally {
      await server.close();
    }
  });

  it('fails at once, in one line naming TEST_REDIS_URL, when TEST_REDIS_URL does not answer', async () => {
    const url = await deadUrl();
    const started = Date.now();
    const err = await rejection(resolveTestRedis({ TEST_REDIS_URL: url }, { redisServerInstalled: () => true }));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.message).toContain(`TEST_REDIS_URL=${url}`);
    expect(err.message).toMatch(/does not answer PING within 2 s/);
    expect(err.message).not.toContain('\n');
  });

  it('does not print the password of TEST_REDIS_URL', async () => {
    const url = (await deadUrl()).replace('redis://', 'redis://user:s3cret@');
    const err = await rejection(resolveTestRedis({ TEST_REDIS_URL: url }, { envTimeoutMs: 500 }));
    expect(err.message).toContain('TEST_REDIS_URL=');
    expect(err.message).not.toContain('s3cret');
    expect(redactUrl(url)).toContain('user:***@127.0.0.1');
  });

  it('with no TEST_REDIS_URL and a dead default, starts a private redis-server that answers PING; close() stops it', async () => {
    expect(redisServerInstalled(), 'redis-server is not installed (apt-get install redis-server)').toBe(true);
    const defaultUrl = await deadUrl();
    const r = await resolveTestRedis({}, { defaultUrl });
    let closed = false;
    try {
      expect(r.source).toBe('private');
      expect(r.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(r.url).not.toBe(defaultUrl);
      await pingRedis(r.url, 2_000);
      await r.close();
      closed = true;
      const err = await rejection(pingRedis(r.url, 1_000));
      expect(err.message).toMatch(/ECONNREFUSED|closed|no answer/i);
    } finally {
      if (!closed) await r.close();
    }
  });

  it('uses the default URL when it answers (nothing started)', async () => {
    const server = await resolveTestRedis({}, { defaultUrl: await deadUrl() });
    try {
      const r = await resolveTestRedis({}, { defaultUrl: server.url, redisServerInstalled: () => false });
      expect(r).toMatchObject({ url: server.url, source: 'default' });
    } finally {
      await server.close();
    }
  });

  it('with nothing answering and no redis-server, fails at once with the one-line install hint', async () => {
    const started = Date.now();
    const err = await rejection(resolveTestRedis({}, { defaultUrl: await deadUrl(), redisServerInstalled: () => false }));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.message).toMatch(/redis-server is not installed/);
    expect(err.message).toContain('apt-get install redis-server');
    expect(err.message).toContain('TEST_REDIS_URL');
    expect(err.message).not.toContain('\n');
  });

  it('treats an empty TEST_REDIS_URL as unset', async () => {
    const err = await rejection(resolveTestRedis({ TEST_REDIS_URL: '' }, { defaultUrl: await deadUrl(), redisServerInstalled: () => false }));
    expect(err.message).toMatch(/^No Redis for the tests/);
  });
});

describe('startRedisServer', () => {
  it('on a port someone else listens on, fails saying so (it does not take the other listener for its server)', async () => {
    expect(redisServerInstalled(), 'redis-server is not installed (apt-get install redis-server)').toBe(true);
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      const err = await rejection(startRedisServer({ port }));
      expect(err.message).toMatch(new RegExp(`redis-server on port ${port} exited .*Address already in use`));
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('stops, starts again on the same port, and closes', async () => {
    const r = await startRedisServer();
    try {
      await pingRedis(r.url, 2_000);
      await r.stop();
      await rejection(pingRedis(r.url, 1_000));
      await r.start();
      await pingRedis(r.url, 2_000);
    } finally {
      await r.close();
    }
    await rejection(pingRedis(r.url, 1_000));
  });
});
