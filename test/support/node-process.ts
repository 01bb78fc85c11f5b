import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const DIST = join(__dirname, '..', '..', 'dist');
export const API_MAIN = join(DIST, 'main.js');
export const CLI_MAIN = join(DIST, 'cli.main.js');
export const FEED_MAIN = join(DIST, 'price-feed.main.js');

/** Fails with a clear message when the build that process tests run is missing. */
export function requireBuild(): void {
  for (const f of [API_MAIN, CLI_MAIN, FEED_MAIN]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run "npm run build" before the process tests`);
  }
}

/**
 * A real `node <script>` child process (the built API, CLI or feed) with its
 * output collected line by line. Its environment is only what the test gives
 * (plus PATH and HOME), as in a fresh terminal.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(script: string, env: Record<string, string | undefined>, args: string[] = [], opts: { cwd?: string } = {}) {
    const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_FORMAT: 'text' };
    const merged: Record<string, string> = { ...base };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
    // Its own process group, as a command in a terminal has: ctrlC() signals the whole group.
    this.child = spawn(process.execPath, [script, ...args], { env: merged, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        const parts = buf.split('\n');
        buf = parts.pop() ?? '';
        this.lines.push(...parts);
      });
      stream.on('end', () => {
        if (buf) this.lines.push(buf);
      });
    }
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get output(): string {
    return this.lines.join('\n');
  }

  /** Resolves when a line matches (bounded in time); rejects with the output so far otherwise. */
  async waitFor(pattern: RegExp, ms = 20_000, from = 0): Promise<string> {
    const end = Date.now() + ms;
    for (let i = 0; Date.now() < end && i < 10_000; i++) {
      const hit = this.lines.slice(from).find((l) => pattern.test(l));
      if (hit) return hit;
      if (this.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no line matching ${pattern} (exit code ${this.child.exitCode}); output:\n${this.output.slice(-4000)}`);
  }

  /** Waits (bounded) for the process to exit; kills it with SIGKILL when it does not. */
  async exit(ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
    const r = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (r === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error(`process did not exit within ${ms} ms; output:\n${this.output.slice(-4000)}`);
    }
    return r;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** What Ctrl-C in its terminal does: SIGINT to every process of its group (children it spawned included). */
  ctrlC(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null || !this.child.pid) return;
    try {
      process.kill(-this.child.pid, 'SIGINT');
    } catch {
      /* already gone */
    }
  }
}
