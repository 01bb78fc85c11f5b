// Daily snapshots (issue 15): 5 years of daily value history for N portfolios × 10 positions,
// computed by the production build's dailySnapshots in a child process.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from '../lib/proc.mjs';

const WORKER = fileURLToPath(new URL('./snapshots-worker.mjs', import.meta.url));

export async function runSnapshots(ctx, { portfolios }) {
  const child = fork(WORKER, [], {
    env: { ...process.env, BENCH_DIST_DIR: ctx.dist, BENCH_SNAPSHOT_PORTFOLIOS: String(portfolios) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  const result = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`snapshots worker exited with ${code} before reporting`)));
    child.once('error', reject);
  });
  ctx.log(
    `daily snapshots: ${result.portfolios} portfolios x ${result.positions} positions x ${result.days} days in ${result.totalMs} ms (${result.msPerPortfolio} ms per portfolio)`,
  );
  return result;
}
