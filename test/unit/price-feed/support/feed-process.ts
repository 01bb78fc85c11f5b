import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const FEED_MAIN = join(__dirname, '..', '..', '..', '..', 'dist', 'price-feed.main.js');

/** Fails with a clear message when the build the process tests run is missing. */
export function requireBuild(): void {
  if (!existsSync(FEED_MAIN)) throw new Error(`${FEED_MAIN} is missing: run "npm run build" before the price-feed process tests`);
}

/** A real `node dist/price-feed.main.js` child process with its output collected line by line. */
export class FeedProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: Record<string, string | undefined>, args: string[] = []) {
    const base: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', LOG_FORMAT: 'text' };
    const merged: Record<string, string> = { ...base };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
    this.child = spawn(process.execPath, [FEED_MAIN, ...args], { env: merged, stdio: ['ignore', 'pipe', 'pipe'] });
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

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}
