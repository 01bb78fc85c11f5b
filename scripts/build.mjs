// `npm run build`, and the build behind `npm start` and the CLI scripts (build-if-stale.mjs):
// the server (nest build), the pages' type check and bundle (tsc, vite), each step announced
// with its duration, its own output shown only when it fails. One build at a time per
// checkout (a lock), so two terminals starting together do not rewrite dist/ under each other.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

const STEPS = [
  ['server', 'nest build', [bin('nest'), 'build']],
  ['pages: type check', 'tsc -p web', [bin('tsc'), '-p', 'web/tsconfig.json']],
  ['pages: bundle', 'vite build', [bin('vite'), 'build', '--config', 'web/vite.config.ts']],
];

/**
 * Runs the steps (`pagesOnly`: the pages' two, leaving dist/ alone); throws (after printing
 * the failing step's output) when one fails.
 */
export function build({ log = console.log, pagesOnly = false } = {}) {
  const started = Date.now();
  const steps = pagesOnly ? STEPS.slice(1) : STEPS;
  steps.forEach(([what, cmd, [file, ...args]], i) => {
    const t0 = Date.now();
    log(`  [${i + 1}/${steps.length}] ${what} (${cmd})…`);
    const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 300_000, env: process.env });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
      throw new Error(`build step "${cmd}" failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status ?? r.signal})`}`);
    }
    log(`        done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
  log(`Built in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

/** Holds the checkout's build lock around fn (waits up to 5 minutes for another build to finish). */
export async function withBuildLock(fn) {
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  const release = await lockfile.lock(root, {
    lockfilePath: join(root, 'node_modules', '.build.lock'),
    realpath: false,
    stale: 30_000,
    retries: { retries: 600, factor: 1, minTimeout: 500, maxTimeout: 500 },
    onCompromised: () => undefined,
  });
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await withBuildLock(() => build());
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
