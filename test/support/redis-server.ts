import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres';

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (the port stays reserved for start()). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

/** True when a `redis-server` binary is on PATH. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Servers still running: killed if this process exits without closing them (no orphaned redis-server). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(c: ChildProcess): void {
  running.add(c);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (bounded: 10 s). */
async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

const READY = /Ready to accept connections/;
/** The last two lines of redis-server's log, on one line (a failed bind says why, then "aborting"). */
const lastLines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-2)
    .join(' / ') || 'no output';

/**
 * Spawns redis-server on `port` and resolves once that child itself says it
 * accepts connections (not merely once something listens on the port: when the
 * port was taken meanwhile, another server would answer there). Rejects, with
 * redis-server's last log line, if it fails to spawn or exits first; bounded.
 */
function spawnRedis(port: number, dir: string, extraArgs: readonly string[] = [], timeoutMs = 10_000): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'notice', ...extraArgs],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        c.kill('SIGKILL');
        reject(err);
      } else resolve(c);
    };
    const onData = (b: Buffer) => {
      if (settled) return; // keep draining the pipes, stop keeping the text
      out = (out + b.toString()).slice(-4096);
      if (READY.test(out)) settle();
    };
    c.stdout?.on('data', onData);
    c.stderr?.on('data', onData);
    c.once('error', (err) => settle(new Error(`could not run redis-server: ${err.message}`)));
    c.once('exit', () => running.delete(c));
    c.once('exit', (code, signal) =>
      settle(new Error(`redis-server on port ${port} exited (${signal ?? `code ${code}`}) before accepting connections: ${lastLines(out)}`)),
    );
    const timer = setTimeout(
      () => settle(new Error(`redis-server on port ${port} did not accept connections within ${timeoutMs} ms: ${lastLines(out)}`)),
      timeoutMs,
    );
    track(c);
  });
}

export interface RedisServerOptions {
  port?: number;
  /** Clients must AUTH with this password (`--requirepass`); `url` then carries it (redis://:password@127.0.0.1:port). */
  password?: string;
  /** More redis-server arguments (e.g. `--tls-port`), after the usual ones. */
  args?: readonly string[];
}

/**
 * A private `redis-server` on a free loopback port (nothing on disk), for tests
 * that stop and restart Redis or need one when no shared Redis answers.
 */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<PrivateRedis> {
  let port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'rm-redis-'));
  let child: ChildProcess | undefined;
  const extraArgs = [...(opts.password !== undefined ? ['--requirepass', opts.password] : []), ...(opts.args ?? [])];

  const start = async () => {
    if (child) return;
    const c = await spawnRedis(port, dir, extraArgs);
    child = c;
    c.once('exit', () => {
      running.delete(c);
      if (child === c) child = undefined;
    });
    await waitForPort(port);
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    });
    running.delete(c);
  };
  // A free port can be taken between freePort() and redis-server's bind: then try another (3 times at most).
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      await stop();
      if (opts.port !== undefined || attempt >= 3 || !/address already in use/i.test((err as Error).message)) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }
  return {
    url: opts.password !== undefined ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
