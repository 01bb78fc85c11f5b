import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/database/embedded-postgres';

/**
 * A stranger's first minutes, for real: a fresh clone of this commit, then
 * exactly the README's `npm install && npm start`, until the service answers.
 * Once as root inside a private (0700) folder, once as an ordinary user in
 * their own home. No compiler is assumed (CC/CXX point at /bin/false, no
 * nodedir), no npm configuration of this machine's root is read (a fresh HOME).
 * Run by .ci/run (as root, which can create the user); not part of `npm test`.
 */

const REPO = resolve(__dirname, '..', '..');
const USER = 'rmfresh';
const INSTALL_MS = 420_000;
const START_MS = 240_000;

/** Lines that look like trouble after Ctrl-C. */
const ALARMING = /\b(ERROR|WARN|FATAL)\b|terminating connection|raised an error|Lost the price-feed lock|^\s+at /;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs a shell command line (optionally as another user, with a clean environment), collecting its output. */
function sh(cmd: string, opts: { user?: string; env: Record<string, string>; cwd: string }): Run {
  const envArgs = Object.entries(opts.env).map(([k, v]) => `${k}=${v}`);
  const argv = opts.user
    ? ['runuser', '-u', opts.user, '--', 'env', '-i', ...envArgs, 'bash', '-c', `cd ${JSON.stringify(opts.cwd)} && ${cmd}`]
    : ['env', '-i', ...envArgs, 'bash', '-c', `cd ${JSON.stringify(opts.cwd)} && ${cmd}`];
  // Its own process group, like a command typed in a terminal (Ctrl-C reaches all of it).
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function finish(run: Run, ms: number, what: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([run.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)))]);
  clearTimeout(timer);
  if (code === 'timeout') {
    try {
      process.kill(-run.child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
    throw new Error(`${what} did not finish within ${ms / 1000} s; output:\n${run.output().slice(-6000)}`);
  }
  return code;
}

async function httpStatus(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** Polls until the URL answers 200 (bounded), failing early when the server process exits. */
async function waitForHttp(url: string, run: Run, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (let i = 0; i < ms / 500 + 1; i++) {
    if ((await httpStatus(url)) === 200) return;
    if (run.child.exitCode !== null) throw new Error(`the server exited (${run.child.exitCode}) before ${url} answered; output:\n${run.output().slice(-6000)}`);
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer 200 within ${ms / 1000} s; output:\n${run.output().slice(-6000)}`);
}

function ctrlC(run: Run): void {
  try {
    process.kill(-run.child.pid!, 'SIGINT');
  } catch {
    /* gone */
  }
}

/** What both scenarios check: install cleanly, start, serve the socket info and the dashboard, stop quietly. */
async function installAndStart(opts: { user?: string; home: string; workDir: string; bundle: string }): Promise<{ checkout: string }> {
  const port = await freePort();
  const env: Record<string, string> = {
    HOME: opts.home,
    PATH: '/usr/local/bin:/usr/bin:/bin',
    // No compiler: any install step that tried to build a native addon would fail.
    CC: '/bin/false',
    CXX: '/bin/false',
    PORT: String(port),
  };
  const clone = sh(`git clone -q ${JSON.stringify(opts.bundle)} app`, { user: opts.user, env, cwd: opts.workDir });
  expect(await finish(clone, 60_000, 'git clone')).toBe(0);
  const checkout = join(opts.workDir, 'app');

  // The README's two commands, as typed.
  const install = sh('npm install', { user: opts.user, env, cwd: checkout });
  const installCode = await finish(install, INSTALL_MS, 'npm install');
  expect(installCode, install.output()).toBe(0);
  expect(install.output()).not.toMatch(/EBADENGINE|ERESOLVE|gyp (ERR|info)|node-gyp/);

  const start = sh('npm start', { user: opts.user, env, cwd: checkout });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/realtime/websocket-info/`, start, START_MS);
    expect(await httpStatus(`http://127.0.0.1:${port}/realtime/dashboard/`)).toBe(200);
    const out = start.output();
    expect(out).toMatch(/\[1\/3\] server \(nest build\)/); // the first build shows its progress
    expect(out).toContain(`Dashboard: http://localhost:${port}/realtime/dashboard/ (log in as demo, password demo-password)`);
    const info = (await (await fetch(`http://127.0.0.1:${port}/realtime/websocket-info/`)).json()) as { websocket_url?: string };
    expect(JSON.stringify(info)).toContain(`:${port}/ws/realtime/`);
  } finally {
    const mark = start.output().length;
    ctrlC(start);
    await finish(start, 60_000, 'npm start after Ctrl-C');
    const tail = start.output().slice(mark).split('\n');
    expect(tail.filter((l) => ALARMING.test(l))).toEqual([]);
  }
  // The last (only) user of the embedded cluster stopped it.
  expect(existsSync(join(checkout, 'data', 'postgres', 'PG_VERSION'))).toBe(true);
  expect(existsSync(join(checkout, 'data', 'postgres', 'postmaster.pid'))).toBe(false);
  return { checkout };
}

describe('fresh machine: the README commands as a stranger runs them', { timeout: INSTALL_MS + START_MS + 180_000 }, () => {
  let shared: string;
  let bundle: string;

  beforeAll(() => {
    expect(process.getuid?.(), 'the install tests run as root (they create an ordinary user)').toBe(0);
    // A world-readable copy of this commit to clone from (the checkout itself may sit in a private folder).
    shared = mkdtempSync(join(tmpdir(), 'rm-install-'));
    chmodSync(shared, 0o755);
    bundle = join(shared, 'repo.bundle');
    execFileSync('git', ['-C', REPO, 'bundle', 'create', bundle, 'HEAD'], { stdio: 'ignore' });
    chmodSync(bundle, 0o644);
  });

  afterAll(() => rmSync(shared, { recursive: true, force: true }));

  it('as root, in a private (0700) folder: npm install && npm start serves the dashboard, no folder permissions changed', async () => {
    const privateDir = mkdtempSync(join(tmpdir(), 'rm-root-private-'));
    chmodSync(privateDir, 0o700);
    const home = join(privateDir, 'home');
    mkdirSync(home, { mode: 0o700 });
    let clusterTarget: string | undefined;
    try {
      const { checkout } = await installAndStart({ home, workDir: privateDir, bundle });
      // PostgreSQL ran as the postgres user without the private folder being opened up.
      expect(lstatSync(privateDir).mode & 0o777).toBe(0o700);
      const link = join(checkout, 'data', 'postgres');
      expect(lstatSync(link).isSymbolicLink()).toBe(true);
      clusterTarget = realpathSync(link);
      expect(clusterTarget.startsWith('/var/lib/realtime-markets/')).toBe(true);
      const owner = spawnSync('stat', ['-c', '%U', clusterTarget], { encoding: 'utf8' }).stdout.trim();
      expect(owner).toBe('postgres');
    } finally {
      if (clusterTarget) rmSync(clusterTarget, { recursive: true, force: true });
      rmSync(privateDir, { recursive: true, force: true });
    }
  });

  it('as an ordinary user in their own home: npm install && npm start serves the dashboard', async () => {
    if (spawnSync('id', ['-u', USER]).status !== 0) execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', USER]);
    const home = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[0] === USER)![5];
    const workDir = join(home, `fresh-${Date.now().toString(36)}`);
    execFileSync('runuser', ['-u', USER, '--', 'mkdir', workDir]);
    try {
      const { checkout } = await installAndStart({ user: USER, home, workDir, bundle });
      // Everything the user's run made belongs to the user (nothing needed root).
      const owner = spawnSync('stat', ['-c', '%U', join(checkout, 'data', 'postgres')], { encoding: 'utf8' }).stdout.trim();
      expect(owner).toBe(USER);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
