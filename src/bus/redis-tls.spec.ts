import { Logger } from '@nestjs/common';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ConfigValidationError } from '../config/env.validation';
import { closeRedisClient, createRedisClient } from './redis-connection';
import { RedisLinkState, redisFailureHint } from './redis-link';
import { redisTlsOptions } from './redis-tls';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

describe('Redis TLS and credentials wiring', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-tls-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads REDIS_TLS_CA_FILE once for a rediss:// URL; nothing without it', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, PEM);
    expect(redisTlsOptions('rediss://:pw@redis.internal:6380', ca)).toEqual({ ca: [PEM] });
    expect(redisTlsOptions('rediss://redis.internal:6380', undefined)).toBeUndefined();
    expect(redisTlsOptions(undefined, ca)).toBeUndefined();
    expect(redisTlsOptions('redis://127.0.0.1:6379', undefined)).toBeUndefined();
  });

  it('fails at boot with one clear paragraph: unreadable, not a certificate, or not a TLS URL', () => {
    const missing = join(dir, 'nope.pem');
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigValidationError);
        return (e as Error).message;
      }
      throw new Error('did not throw');
    };
    expect(err(() => redisTlsOptions('rediss://h:1', missing))).toMatch(
      new RegExp(`REDIS_TLS_CA_FILE="${missing.replace(/[/.]/g, '\\$&')}" cannot be read \\(ENOENT`),
    );
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    expect(err(() => redisTlsOptions('rediss://h:1', junk))).toMatch(/holds no PEM certificate/);
    expect(err(() => redisTlsOptions('redis://h:1', junk))).toMatch(/REDIS_URL is not a TLS URL: use rediss:\/\//);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked.pem');
      writeFileSync(locked, PEM);
      chmodSync(locked, 0o000);
      expect(err(() => redisTlsOptions('rediss://h:1', locked))).toMatch(/cannot be read \(EACCES/);
    }
  });

  it("every client of the process gets the link's TLS options, only for rediss://; credentials come from the URL", async () => {
    vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const tls = { ca: [PEM] };
      const secure = new RedisLinkState('rediss://user:pw@127.0.0.1:1', { tls });
      const a = createRedisClient('rediss://user:pw@127.0.0.1:1', secure, { name: 'rm-test-a' });
      expect(a.options.tls).toEqual(tls);
      expect(a.options).toMatchObject({ username: 'user', password: 'pw', host: '127.0.0.1', port: 1 });
      const plainLink = new RedisLinkState('redis://:pw@127.0.0.1:1', { tls });
      const b = createRedisClient('redis://:pw@127.0.0.1:1', plainLink, { name: 'rm-test-b' });
      expect(b.options.tls).toBeUndefined();
      expect(b.options.password).toBe('pw');
      const c = createRedisClient('rediss://127.0.0.1:1', new RedisLinkState('rediss://127.0.0.1:1'), { name: 'rm-test-c' });
      expect(c.options.tls).toBeTruthy(); // ioredis's own TLS for rediss:// (system CAs)
      await Promise.all([closeRedisClient(secure, a), closeRedisClient(plainLink, b), closeRedisClient(new RedisLinkState(), c)]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('says what to fix when Redis refuses the credentials or the certificate', () => {
    expect(redisFailureHint('WRONGPASS invalid username-password pair or user is disabled.')).toMatch(/check the user name and password in REDIS_URL/);
    expect(redisFailureHint('NOAUTH Authentication required.')).toMatch(/password in REDIS_URL/);
    expect(redisFailureHint('self-signed certificate in certificate chain')).toMatch(/REDIS_TLS_CA_FILE/);
    expect(redisFailureHint('unable to verify the first certificate')).toMatch(/REDIS_TLS_CA_FILE/);
    expect(redisFailureHint('connect ECONNREFUSED 127.0.0.1:6379')).toBe('');
  });
});
