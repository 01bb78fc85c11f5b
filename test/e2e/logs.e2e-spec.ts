import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';
import { createTestDatabase } from '../support/database';
import { API_MAIN, CLI_MAIN, FEED_MAIN, NodeProcess, requireBuild } from '../support/node-process';
import { STACK_LINE } from '../support/output-capture';
import { poll } from '../support/poll';
import { startRedisServer, type PrivateRedis } from '../support/redis-server';
import { WsProbe } from '../support/realtime-probes';

/**
 * Logs of the built processes as an operator gets them: JSON lines on stdout in production,
 * a request id on HTTP lines, a connection id on socket lines, LOG_FILE (reopened on SIGHUP),
 * and no secret, cookie or session id in any line.
 */

const SESSION_SECRET = `logs-session-secret-${randomBytes(16).toString('hex')}`;
const BUS_SECRET = `logs-bus-secret-${randomBytes(16).toString('hex')}`;
const REDIS_PASSWORD = `redis-pw-${randomBytes(8).toString('hex')}`;
const USER_PASSWORD = `user-pw-${randomBytes(8).toString('hex')}`;
const USERNAME = `logs_${randomBytes(3).toString('hex')}`;

/** stdout of a child process, line by line (NodeProcess.lines mixes stdout and stderr). */
function stdoutOf(p: NodeProcess): string[] {
  const lines: string[] = [];
  let buf = '';
  p.child.stdout!.on('data', (chunk: string | Buffer) => {
    buf += chunk.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.trim() !== ''));
  });
  return lines;
}

type Rec = Record<string, any>;
const tryParse = (line: string): Rec | undefined => {
  try {
    const v = JSON.parse(line) as unknown;
    return v !== null && typeof v === 'object' ? (v as Rec) : undefined;
  } catch {
    return undefined;
  }
};
const records = (lines: string[]): Rec[] => lines.map(tryParse).filter((r): r is Rec => r !== undefined);
const notJson = (lines: string[]): string[] => lines.filter((l) => tryParse(l) === undefined);
const fileLines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

describe('logs of the built processes', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rm-logs-'));
  const logFile = join(dir, 'logs', 'api.log');
  const feedLogFile = join(dir, 'logs', 'feed.log');
  const procs: NodeProcess[] = [];
  let db: { url: string; drop: () => Promise<void> };
  let dbUrl: string;
  let dbPassword: string;
  let redis: PrivateRedis;
  let api: NodeProcess;
  let apiStdout: string[];
  let base: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    requireBuild();
    db = await createTestDatabase('rmlogs');
    // A password in DATABASE_URL that must never be printed (a trust-authenticated server never asks for it).
    const u = new URL(db.url);
    if (!u.password) u.password = `db-pw-${randomBytes(8).toString('hex')}`;
    dbUrl = u.toString();
    dbPassword = decodeURIComponent(u.password);
    redis = await startRedisServer({ password: REDIS_PASSWORD });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    env = {
      NODE_ENV: 'production',
      LOG_FORMAT: '', // unset (NodeProcess sets text): the production default is under test
      LOG_LEVEL: 'log',
      DATABASE_URL: dbUrl,
      REDIS_URL: redis.url,
      REDIS_PREFIX: `rmlogs-${randomUUID()}:`,
      SESSION_SECRET,
      BUS_SECRET,
      DATA_DIR: join(dir, 'data'),
      HOST: '127.0.0.1',
      PRICE_BACKFILL_DAYS: '0',
    };
    api = new NodeProcess(API_MAIN, {
      ...env,
      PORT: String(port),
      PRICE_FEED_MODE: 'external',
      SEED_DEMO: 'false',
      WS_MAX_PROTOCOL_ERRORS: '3',
      LOG_FILE: logFile,
    });
    procs.push(api);
    apiStdout = stdoutOf(api);
    await api.waitFor(/Serving on http/, 90_000);
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exit(30_000).catch(() => undefined)));
    await redis?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const accessLine = (reqId: string) => records(apiStdout).find((r) => r.req_id === reqId && r.context === 'HTTP');

  it('production: every stdout line is a JSON object with level, time, context and msg', async () => {
    const serving = await poll('the Serving line as JSON', () => records(apiStdout).find((r) => /^Serving on http/.test(r.msg)));
    expect(serving).toMatchObject({ level: 'info', context: 'Bootstrap', name: 'api', pid: api.child.pid });
    expect(Date.parse(serving.time)).toBeGreaterThan(0);
    expect(apiStdout.length).toBeGreaterThan(5);
    expect(notJson(apiStdout)).toEqual([]);
  });

  it('HTTP: X-Request-Id answered (kept when sane, generated otherwise), and on the access line as req_id', async () => {
    const kept = await fetch(`${base}/api/assets/?limit=1`, { headers: { 'X-Request-Id': 'logs-test-req-42' } });
    expect(kept.status).toBe(200);
    expect(kept.headers.get('x-request-id')).toBe('logs-test-req-42');
    const line = await poll('the access line of logs-test-req-42', () => accessLine('logs-test-req-42'));
    expect(line).toMatchObject({ level: 'info', req: { method: 'GET', url: '/api/assets/?limit=1' }, res: { status_code: 200 } });
    expect(typeof line.response_time_ms).toBe('number');
    expect(JSON.stringify(line)).not.toMatch(/cookie|authorization|user-agent/i);

    const generated = await fetch(`${base}/api/assets/?limit=1`, { headers: { 'X-Request-Id': 'not a sane id {"x":1}' } });
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    await poll('the access line of the generated id', () => accessLine(id!));
    const none = await fetch(`${base}/nothing-here`);
    expect(none.status).toBe(404);
    expect(none.headers.get('x-request-id')).toBeTruthy();
  });

  it('a line logged while handling a request carries its req_id', async () => {
    const r = await fetch(`${base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Request-Id': 'logs-register-1' },
      body: JSON.stringify({ username: USERNAME, password: USER_PASSWORD }),
    });
    expect(r.status).toBe(201);
    const line = await poll('the Registered user line', () => records(apiStdout).find((x) => /^Registered user/.test(x.msg)));
    expect(line).toMatchObject({ context: 'Auth', req_id: 'logs-register-1' });
  });

  it('socket lines carry connection_id; no secret, cookie or session id in any line (stdout, stderr, LOG_FILE)', async () => {
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: USERNAME, password: USER_PASSWORD }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect(cookie).toMatch(/^rm\.sid=s%3A/);
    const cookieValue = cookie.slice('rm.sid='.length);
    const signed = decodeURIComponent(cookieValue); // s:<session id>.<signature>
    const sessionId = signed.slice(2, signed.lastIndexOf('.'));
    const signature = signed.slice(signed.lastIndexOf('.') + 1);
    expect(sessionId.length).toBeGreaterThan(10);

    // A socket with the session cookie, closed by the server after WS_MAX_PROTOCOL_ERRORS invalid messages.
    const ws = await WsProbe.open(base.replace('http', 'ws'), { cookie, origin: base });
    const hello = await ws.next('connection');
    expect(hello.data).toMatchObject({ authenticated: true });
    const connectionId = String(hello.data.connection_id);
    for (let i = 0; i < 3; i++) ws.sendRaw('this is not JSON');
    expect((await ws.closed).code).toBe(1008);
    const closing = await poll('the Closing connection line', () => records(apiStdout).find((r) => r.connection_id === connectionId));
    expect(closing).toMatchObject({ context: 'RealtimeHub', level: 'info' });
    expect(closing.msg).toMatch(new RegExp(`^Closing connection ${connectionId} \\(1008\\)`));

    // Logout, then a failed login with the (now known) password of another attempt.
    const logout = await fetch(`${base}/auth/logout`, { method: 'POST', headers: { cookie, 'X-Request-Id': 'logs-logout' } });
    expect(logout.status).toBeLessThan(300);
    const failed = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Request-Id': 'logs-failed-login' },
      body: JSON.stringify({ username: USERNAME, password: `${USER_PASSWORD}-wrong` }),
    });
    expect(failed.status).toBe(401);

    // The feed process too (it prints the Redis target and uses BUS_SECRET).
    const feed = new NodeProcess(FEED_MAIN, { ...env, LOG_FILE: feedLogFile }, ['--interval', '1']);
    procs.push(feed);
    const feedStdout = stdoutOf(feed);
    const up = await poll('the feed process up, as JSON', () => records(feedStdout).find((r) => /^Price feed process \d+ up/.test(r.msg)), 60_000, 50);
    expect(up).toMatchObject({ name: 'price-feed', level: 'info' });
    await poll('a feed run published', () => records(feedStdout).some((r) => /Holding the price-feed lock/.test(r.msg)), 30_000, 50);
    expect(notJson(feedStdout)).toEqual([]);

    await poll('the failed login in LOG_FILE', () => fileLines(logFile).some((l) => l.includes('logs-failed-login')));
    await poll('the feed lines in its LOG_FILE', () => fileLines(feedLogFile).some((l) => /Price feed process/.test(l)));
    const secrets: Record<string, string> = {
      SESSION_SECRET,
      BUS_SECRET,
      'the password': USER_PASSWORD,
      'the cookie value': cookieValue,
      'the URL-decoded cookie value': signed,
      'the session id': sessionId,
      'the cookie signature': signature,
      'the Redis password': REDIS_PASSWORD,
      'the DATABASE_URL password': dbPassword,
    };
    const outputs: Record<string, string> = {
      'API stdout+stderr': api.output,
      'API LOG_FILE': readFileSync(logFile, 'utf8'),
      'feed stdout+stderr': feed.output,
      'feed LOG_FILE': readFileSync(feedLogFile, 'utf8'),
    };
    const leaks: string[] = [];
    for (const [where, text] of Object.entries(outputs)) {
      for (const [what, secret] of Object.entries(secrets)) if (text.includes(secret)) leaks.push(`${what} in ${where}`);
    }
    expect(leaks).toEqual([]);
    // The lines around those requests are there (the check looked at real output).
    expect(outputs['API LOG_FILE']).toContain('logs-logout');
    expect(outputs['API LOG_FILE']).toContain(connectionId);
  });

  it('LOG_FILE: the same records as JSON lines; after a rename and SIGHUP, new lines go to a new file at LOG_FILE', async () => {
    await poll('the access line of logs-test-req-42 in LOG_FILE', () => fileLines(logFile).some((l) => l.includes('logs-test-req-42')));
    const before = fileLines(logFile);
    expect(notJson(before)).toEqual([]);
    expect(records(before).find((r) => r.req_id === 'logs-test-req-42' && r.context === 'HTTP')).toMatchObject({ res: { status_code: 200 } });
    expect(records(before).some((r) => /^Serving on http/.test(r.msg))).toBe(true);

    const rotated = `${logFile}.1`;
    renameSync(logFile, rotated);
    process.kill(api.child.pid!, 'SIGHUP');
    let n = 0;
    await poll(
      'lines in a new file at LOG_FILE',
      async () => {
        await fetch(`${base}/api/assets/?limit=1`, { headers: { 'X-Request-Id': `after-rotate-${n++}` } });
        return fileLines(logFile).some((l) => l.includes('after-rotate-'));
      },
      15_000,
      100,
    );
    expect(api.child.exitCode).toBeNull(); // SIGHUP did not end the process
    const after = fileLines(logFile);
    expect(notJson(after)).toEqual([]);
    expect(records(after).every((r) => String(r.req_id ?? 'after-rotate-').startsWith('after-rotate-'))).toBe(true);
    // The rotated file kept what was written before the signal.
    expect(readFileSync(rotated, 'utf8')).toContain('logs-test-req-42');
  });

  it('development: text lines for people (not JSON), and the X-Request-Id header all the same', async () => {
    const port = await freePort();
    const dev = new NodeProcess(API_MAIN, {
      NODE_ENV: 'development',
      LOG_FORMAT: '',
      LOG_LEVEL: 'log',
      DATABASE_URL: db.url,
      DATA_DIR: join(dir, 'dev-data'),
      HOST: '127.0.0.1',
      PORT: String(port),
      PRICE_FEED_MODE: 'off',
      SEED_DEMO: 'false',
    });
    procs.push(dev);
    const devStdout = stdoutOf(dev);
    const serving = await dev.waitFor(/Serving on http/, 90_000);
    expect(tryParse(serving)).toBeUndefined();
    expect(serving).toMatch(/^\[Nest\] \d+ .* LOG \[Bootstrap\] Serving on http/);
    const r = await fetch(`http://127.0.0.1:${port}/health`, { headers: { 'X-Request-Id': 'dev-req-1' } });
    expect(r.headers.get('x-request-id')).toBe('dev-req-1');
    expect(records(devStdout)).toEqual([]); // no JSON line at all, access lines included
    dev.kill('SIGTERM');
    expect((await dev.exit(30_000)).code).toBe(0);
  });

  it.each([
    ['API', API_MAIN, [] as string[]],
    ['CLI', CLI_MAIN, ['migrate']],
    ['feed', FEED_MAIN, ['--interval', '1']],
  ])('%s: an unwritable LOG_FILE ends in one paragraph naming LOG_FILE, no stack, exit 1', async (_name, script, args) => {
    writeFileSync(join(dir, 'a-file'), '');
    const p = new NodeProcess(script, { ...env, PORT: '0', LOG_FILE: join(dir, 'a-file', 'app.log') }, args);
    const { code } = await p.exit(60_000);
    expect(code).toBe(1);
    expect(p.output.replace(/\s+/g, ' ')).toMatch(/LOG_FILE=\S+a-file\/app\.log cannot be written .* unset LOG_FILE to log to stdout only\./);
    expect(p.lines.filter((l) => STACK_LINE.test(l))).toEqual([]);
    expect(p.output.trim().split(/\n\s*\n/)).toHaveLength(1);
  });
});
