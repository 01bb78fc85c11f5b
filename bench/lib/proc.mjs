// Process plumbing for the bench: forked workers with request/response IPC, /proc sampling,
// starting and stopping servers, free loopback ports. Linux only (reads /proc).
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const nowMs = () => performance.timeOrigin + performance.now();

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64

/** CPU time (user+system, ms) and RSS (bytes) of a process, from /proc; null if it is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuMs: ((utime + stime) * 1000) / CLK_TCK, rss: rssPages * 4096, at: nowMs() };
  } catch {
    return null;
  }
}

/** Percent of one core used between two procStat samples. */
export function cpuPercent(a, b) {
  if (!a || !b || b.at <= a.at) return null;
  return (100 * (b.cpuMs - a.cpuMs)) / (b.at - a.at);
}

/** Machine-wide CPU jiffies from /proc/stat (all cores): busy and total. */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total, softirq: v[6] ?? 0 };
}

/** Busy percent of the whole machine (100 = every core busy) between two machineCpu samples. */
export function machineBusyPct(a, b) {
  if (!a || !b || b.total <= a.total) return null;
  return Math.round((1000 * (b.busy - a.busy)) / (b.total - a.total)) / 10;
}

export async function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = srv.address().port;
      srv.close(() => res(port));
    });
  });
}

/**
 * Wraps a forked child with request/response messaging: `call(cmd, payload, timeoutMs)`.
 * Replies are matched by reqId; every call is bounded in time.
 */
export function rpcChild(child, name) {
  let nextId = 0;
  const pending = new Map();
  child.on('message', (m) => {
    if (!m || m.reqId === undefined) return;
    const p = pending.get(m.reqId);
    if (!p) return;
    pending.delete(m.reqId);
    clearTimeout(p.timer);
    if (m.probe || m.ok) p.resolve(m.probe ? m : m.result);
    else p.reject(new Error(`${name}: ${m.error}`));
  });
  child.on('error', () => {}); // IPC to a process that already ended: the pending call fails below
  child.on('exit', (code, signal) => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(new Error(`${name} exited (${code ?? signal}) during a call`));
      pending.delete(id);
    }
  });
  return {
    child,
    pid: child.pid,
    call(cmd, payload = {}, timeoutMs = 30_000) {
      const reqId = ++nextId;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(reqId);
          reject(new Error(`${name}: ${cmd} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(reqId, { resolve, reject, timer });
        try {
          child.send(cmd.startsWith('probe:') ? { probe: cmd.slice(6), reqId, ...payload } : { cmd, reqId, ...payload });
        } catch (err) {
          clearTimeout(timer);
          pending.delete(reqId);
          reject(err);
        }
      });
    },
  };
}

/** Every process the bench started and that is still running (pid -> whether it leads its own group). */
const live = new Map();

/** Remembers a started process until it exits, so an aborted run can stop it (see stopAllStarted). */
export function track(child, { group = false } = {}) {
  if (!child.pid) return child;
  live.set(child.pid, group);
  child.once('exit', () => live.delete(child.pid));
  return child;
}

/** SIGTERM to every process this run started and that still runs (groups for detached ones), then SIGKILL. */
export async function stopAllStarted(graceMs = 15_000) {
  const signal = (sig) => {
    for (const [pid, group] of live) {
      try {
        process.kill(group ? -pid : pid, sig);
      } catch {
        live.delete(pid);
      }
    }
  };
  signal('SIGTERM');
  const end = nowMs() + graceMs;
  while (live.size > 0 && nowMs() < end) await sleep(100);
  if (live.size > 0) signal('SIGKILL');
}

/**
 * Scheduling priority for every process the bench starts (BENCH_PRIORITY, default -10; 0 = leave it):
 * on a shared machine, other work then disturbs the measurement less. Needs root for negative values;
 * silently skipped otherwise.
 */
export const BENCH_PRIORITY = Number(process.env.BENCH_PRIORITY ?? -10);
export function prioritise(pid) {
  if (!BENCH_PRIORITY || !pid) return;
  try {
    setPriority(pid, BENCH_PRIORITY);
  } catch {
    /* not permitted: measure at normal priority */
  }
}

/**
 * With the kernel's autogroup scheduling (one group per session), a process's nice value only
 * counts inside its session: the bench's session gets the same priority through /proc/self/autogroup.
 * Returns whether it was applied.
 */
export function prioritiseSession() {
  if (!BENCH_PRIORITY) return false;
  try {
    writeFileSync('/proc/self/autogroup', String(BENCH_PRIORITY));
    return true;
  } catch {
    return false;
  }
}

export function forkWorker(path, name, env = process.env) {
  const child = track(fork(path, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
  prioritise(child.pid);
  return rpcChild(child, name);
}

/**
 * Starts a server script under `node --expose-gc -r probe.cjs` (output to `stdio`, usually a log
 * file) and resolves once `ready()` succeeds (bounded by timeoutMs).
 */
export async function startServerProcess({ name, script, env, execArgv = [], probePath, ready, timeoutMs = 60_000, cwd, stdio, logFile }) {
  const t0 = nowMs();
  const child = fork(script, [], {
    cwd,
    env,
    execArgv: ['--expose-gc', '-r', probePath, ...execArgv],
    stdio: stdio ?? ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  track(child);
  prioritise(child.pid);
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const rpc = rpcChild(child, name);
  const tail = () => {
    try {
      return logFile ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
    } catch {
      return '';
    }
  };
  const deadline = t0 + timeoutMs;
  while (true) {
    if (exited) throw new Error(`${name} exited during start (${exited.code ?? exited.signal}):\n${tail()}`);
    if (await ready().catch(() => false)) break;
    if (nowMs() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become ready within ${timeoutMs} ms:\n${tail()}`);
    }
    await sleep(25);
  }
  return {
    ...rpc,
    name,
    startMs: nowMs() - t0,
    exited: () => exited,
    tail,
    async memory() {
      return rpc.call('probe:mem', {}, 20_000);
    },
    async stop(graceMs = 10_000) {
      return stopChild(child, graceMs);
    },
  };
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
export async function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** GET a loopback URL; resolves with the status code (0 on connection error). */
export async function httpStatus(url, timeoutMs = 2_000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, { signal: ctl.signal });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

/** The soft and hard open-files limits of this process. */
export function openFileLimits() {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const [, soft, hard] = line.match(/Max open files\s+(\S+)\s+(\S+)/);
  const n = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return { soft: n(soft), hard: n(hard) };
}
