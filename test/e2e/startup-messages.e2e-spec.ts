import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp, listen } from '../../src/app.setup';
import { StartupError } from '../../src/common/startup-error';
import { freePort } from '../../src/database/embedded-postgres';
import { createTestDatabase } from '../support/database';
import { API_MAIN, CLI_MAIN, NodeProcess, requireBuild } from '../support/node-process';

/** What a person must never see when they got a setting wrong. */
function expectOneParagraph(output: string): void {
  expect(output).not.toMatch(/^\s+at /m); // no stack trace
  expect(output).not.toMatch(/Retrying|ExceptionHandler|UnhandledPromiseRejection/);
  expect(output.trim().split(/\n\s*\n/).length).toBe(1); // one paragraph
}

/** Runs the built API (or CLI) and returns its exit code and what it printed, minus Nest's start-up chatter. */
async function run(script: string, env: Record<string, string | undefined>, args: string[] = []): Promise<{ code: number | null; output: string }> {
  const p = new NodeProcess(script, { LOG_LEVEL: 'warn', ...env }, args);
  const { code } = await p.exit(60_000);
  return { code, output: p.output };
}

const flat = (s: string) => s.replace(/\s+/g, ' ');

describe('start-up messages a person can act on', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rm-messages-'));
  let adminUrl: URL;

  beforeAll(() => {
    requireBuild();
    adminUrl = new URL(inject('pgAdminUrl'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const withDb = (mutate: (u: URL) => void) => {
    const u = new URL(adminUrl.toString());
    mutate(u);
    return u.toString();
  };

  it('DATABASE_URL that is not a URL: names the variable and the expected form, exit 1', async () => {
    const r = await run(API_MAIN, { DATABASE_URL: 'notaurl', DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(flat(r.output)).toContain('DATABASE_URL="notaurl": must be a URL like postgres://user:password@host:5432/database');
    expect(r.output).not.toMatch(/ENOTFOUND|getaddrinfo/);
    expectOneParagraph(r.output);
  });

  it.each([
    ['nothing listening on the port', (u: URL) => (u.port = '1'), /nothing is listening on 127\.0\.0\.1:1 \(connection refused\)/],
    ['a database that does not exist', (u: URL) => (u.pathname = '/no_such_database_rm'), /the database "no_such_database_rm" does not exist/],
    ['a user the server refuses', (u: URL) => (u.username = 'no_such_role_rm'), /the (server refused user|password for user) "no_such_role_rm"/],
    ['a host name that does not resolve', (u: URL) => (u.hostname = 'no-such-host.invalid'), /the host name "no-such-host\.invalid" could not be resolved/],
  ])('DATABASE_URL with %s: one paragraph naming DATABASE_URL, the target and what to check, exit 1', async (_what, mutate, reason) => {
    const url = withDb(mutate);
    const r = await run(API_MAIN, { DATABASE_URL: url, DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    const text = flat(r.output);
    expect(text).toMatch(/Cannot connect to the PostgreSQL server in DATABASE_URL \(postgres:\/\//);
    expect(text).toMatch(reason);
    expect(text).toContain('or unset DATABASE_URL to use the embedded PostgreSQL under DATA_DIR');
    expectOneParagraph(r.output);
  });

  it('hides the password of DATABASE_URL in the message', async () => {
    const url = withDb((u) => {
      u.port = '1';
      u.username = 'someone';
      u.password = 'sup3r-secret';
    });
    const r = await run(API_MAIN, { DATABASE_URL: url, DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(r.output).toContain('someone:***@');
    expect(r.output).not.toContain('sup3r-secret');
  });

  it('the CLI says the same for a bad DATABASE_URL', async () => {
    const r = await run(CLI_MAIN, { DATABASE_URL: withDb((u) => (u.port = '1')), DATA_DIR: dataDir }, ['seed']);
    expect(r.code).toBe(1);
    expect(flat(r.output)).toMatch(/Cannot connect to the PostgreSQL server in DATABASE_URL .*connection refused/);
    expectOneParagraph(r.output);
  });

  it('REDIS_URL that is not a Redis URL: named at boot, exit 1', async () => {
    const r = await run(API_MAIN, { REDIS_URL: 'localhost:6379', DATA_DIR: dataDir });
    expect(r.code).toBe(1);
    expect(flat(r.output)).toMatch(/REDIS_URL="localhost:6379": must be a URL like redis:\/\/host:6379/);
    expectOneParagraph(r.output);
  });

  it('Ctrl-C while the in-process feed is busy: exit 0, no error-looking line, the embedded database stopped', async () => {
    const port = await freePort();
    const api = new NodeProcess(API_MAIN, {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      PORT: String(port),
      PRICE_FEED_MODE: 'inprocess',
      REALTIME_UPDATE_INTERVAL: '1',
      PRICE_BACKFILL_DAYS: '5',
      LOG_LEVEL: 'log',
    });
    await api.waitFor(/Serving on http/, 90_000);
    await api.waitFor(/Holding the price-feed lock/, 20_000);
    const mark = api.lines.length;
    api.ctrlC();
    expect((await api.exit(30_000)).code).toBe(0);
    const tail = api.lines.slice(mark);
    expect(tail.filter((l) => /\b(ERROR|WARN|FATAL)\b|terminating connection|raised an error|Lost the price-feed lock|^\s+at /.test(l))).toEqual([]);
    expect(tail.join('\n')).toMatch(/Embedded PostgreSQL stopped/);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });

  describe('PORT already in use', () => {
    let blocker: Server;
    let port: number;
    beforeAll(async () => {
      port = await freePort();
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    });
    afterAll(async () => {
      await new Promise((r) => blocker.close(r));
    });

    it('from the command line: one line naming PORT and the address, exit 1, no database started', async () => {
      const db = await createTestDatabase('rmport');
      try {
        const r = await run(API_MAIN, { DATABASE_URL: db.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir });
        expect(r.code).toBe(1);
        expect(flat(r.output)).toMatch(new RegExp(`^PORT ${port} is already in use on 127\\.0\\.0\\.1 .*set PORT to a free port \\(PORT=0 picks one\\)\\.$`));
        expectOneParagraph(r.output);
      } finally {
        await db.drop();
      }
    });

    it('taken between the check and listen: the app closes, its embedded database stops cleanly, and the error names PORT', async () => {
      const appDir = mkdtempSync(join(tmpdir(), 'rm-port-race-'));
      const saved = { ...process.env };
      Object.assign(process.env, {
        NODE_ENV: 'test',
        DATA_DIR: appDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        PRICE_FEED_MODE: 'off',
        LOG_LEVEL: 'error',
        SESSION_SECRET: 'x'.repeat(40),
      });
      delete process.env.DATABASE_URL;
      delete process.env.REDIS_URL;
      try {
        const app = await createApp();
        expect(existsSync(join(appDir, 'postgres', 'postmaster.pid'))).toBe(true);
        const err = await listen(app).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StartupError);
        expect((err as Error).message).toMatch(new RegExp(`^PORT ${port} is already in use on 127\\.0\\.0\\.1`));
        expect(existsSync(join(appDir, 'postgres', 'postmaster.pid'))).toBe(false);
      } finally {
        process.env = saved;
        rmSync(appDir, { recursive: true, force: true });
      }
    });
  });
});
