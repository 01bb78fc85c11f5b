/** Every line the process writes to stdout/stderr (Nest's ConsoleLogger writes there), from install() to restore(). */
export class OutputCapture {
  readonly lines: string[] = [];
  private restoreFns: (() => void)[] = [];

  install(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write;
      const lines = this.lines;
      stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
        const text =
          typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
        for (const l of text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) if (l.trim()) lines.push(l);
        return (original as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
      } as typeof stream.write;
      this.restoreFns.push(() => {
        stream.write = original;
      });
    }
  }

  restore(): void {
    for (const f of this.restoreFns.splice(0)) f();
  }

  /** Lines since index `from` matching `re`. */
  match(re: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((l) => re.test(l));
  }
}

/** A fixed observation window (not synchronisation): how long we watch for things that must not happen. */
export const observe = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stack-trace lines. */
export const STACK_LINE = /^\s+at\s/;

/** The samples of one metric in a Prometheus exposition, by their labels. */
export function metricSamples(exposition: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}
