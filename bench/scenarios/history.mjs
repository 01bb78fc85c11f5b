// Resume history: the heap the hub's per-symbol update histories hold (REALTIME_HISTORY_SIZE
// updates per symbol, every instance), measured in a child process with --expose-gc.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from '../lib/proc.mjs';

const WORKER = fileURLToPath(new URL('./history-worker.mjs', import.meta.url));

export async function runHistory(ctx, { symbols, capacity }) {
  const child = fork(WORKER, [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, BENCH_DIST_DIR: ctx.dist, BENCH_HISTORY_SYMBOLS: String(symbols), BENCH_HISTORY_SIZE: String(capacity) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child);
  const result = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`history worker exited with ${code} before reporting`)));
    child.once('error', reject);
  });
  ctx.log(
    `resume history: ${result.symbols} symbols x ${result.capacity} updates = ${(result.heapBytes / 1048576).toFixed(1)} MiB (${result.bytesPerEntry} B per update, ${(result.bytesPerSymbol / 1024).toFixed(1)} KiB per symbol)`,
  );
  return result;
}
