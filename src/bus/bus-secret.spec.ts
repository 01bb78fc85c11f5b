import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StartupError } from '../common/startup-error';
import { ConfigValidationError, validateEnv } from '../config/env.validation';
import { resolveBusSecret } from './bus-secret';

describe('BUS_SECRET', () => {
  const root = mkdtempSync(join(tmpdir(), 'rm-bus-secret-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is required in production when REDIS_URL is set (with SESSION_SECRET, in one message), never shown', () => {
    const prod = { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40), REDIS_URL: 'redis://:pw@127.0.0.1:6379' };
    expect(() => validateEnv(prod)).toThrowError(ConfigValidationError);
    expect(() => validateEnv(prod)).toThrowError(/BUS_SECRET is required when NODE_ENV=production and REDIS_URL is set \(at least 32 characters/);
    expect(() => validateEnv({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379' })).toThrowError(
      /SESSION_SECRET is required[^]*\n {2}BUS_SECRET is required/,
    );
    expect(validateEnv({ ...prod, BUS_SECRET: 'b'.repeat(32) }).BUS_SECRET).toBe('b'.repeat(32));
    // Without Redis there is no bus to sign: not required.
    expect(validateEnv({ NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40) }).BUS_SECRET).toBeUndefined();
    // Too short: named, value hidden.
    try {
      validateEnv({ BUS_SECRET: 'short-secret-value' });
      throw new Error('did not throw');
    } catch (e) {
      expect((e as Error).message).toMatch(/BUS_SECRET=\(hidden\): BUS_SECRET must be longer than or equal to 32 characters/);
      expect((e as Error).message).not.toContain('short-secret-value');
    }
    expect(() => resolveBusSecret({ NODE_ENV: 'production', DATA_DIR: root, BUS_SECRET: undefined })).toThrowError(/BUS_SECRET is required/);
  });

  it('uses BUS_SECRET when set, and writes nothing', () => {
    const dir = join(root, 'set');
    expect(resolveBusSecret({ NODE_ENV: 'development', DATA_DIR: dir, BUS_SECRET: 'x'.repeat(40) })).toBe('x'.repeat(40));
    expect(() => statSync(dir)).toThrow(/ENOENT/);
  });

  it('in development: generated once into DATA_DIR/bus-secret (0600), said once, shared by every process of that DATA_DIR', () => {
    const dir = join(root, 'dev', 'nested');
    const warned: string[] = [];
    const logger = { warn: (m: string) => void warned.push(m) };
    const a = resolveBusSecret({ NODE_ENV: 'development', DATA_DIR: dir, BUS_SECRET: undefined }, logger);
    expect(a.length).toBeGreaterThanOrEqual(32);
    const file = join(dir, 'bus-secret');
    expect(readFileSync(file, 'utf8')).toBe(a);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(new RegExp(`^BUS_SECRET is not set: generated one in ${file.replace(/[/.]/g, '\\$&')}; processes using this DATA_DIR share it`));
    const b = resolveBusSecret({ NODE_ENV: 'test', DATA_DIR: dir, BUS_SECRET: undefined }, logger);
    expect(b).toBe(a);
    expect(warned).toHaveLength(1);
    // No temporary file left behind.
    expect(readdirSync(dir)).toEqual(['bus-secret']);
  });

  it('an empty or unreadable secret file stops the start with one paragraph naming it', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'bus-secret'), '  \n');
    expect(() => resolveBusSecret({ NODE_ENV: 'development', DATA_DIR: dir, BUS_SECRET: undefined })).toThrowError(StartupError);
    expect(() => resolveBusSecret({ NODE_ENV: 'development', DATA_DIR: dir, BUS_SECRET: undefined })).toThrowError(
      /BUS_SECRET is not set, .*bus-secret, but it is empty\. Set BUS_SECRET/,
    );
    const blocked = join(root, 'blocked');
    writeFileSync(blocked, 'a file where DATA_DIR should be');
    expect(() => resolveBusSecret({ NODE_ENV: 'development', DATA_DIR: blocked, BUS_SECRET: undefined })).toThrowError(/it cannot be (read|written)/);
  });
});
