// Starting the servers under test: the project's production build (dist/main.js) and the reference
// servers (Redis-fed and bus-less, one of each per transport), each as its own process with the memory
// probe preloaded.
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpStatus, startServerProcess } from './proc.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PROBE = join(HERE, 'probe.cjs');
export const REFERENCE_WS = join(HERE, '..', 'reference', 'ws-server.mjs');
export const REFERENCE_SIO = join(HERE, '..', 'reference', 'socketio-server.mjs');
/** Bus-less references: prices ticked in the server process (bench/reference/ticker.mjs, driven over IPC by InProcessSource). */
export const REFERENCE_WS_BUSLESS = join(HERE, '..', 'reference', 'ws-busless-server.mjs');
export const REFERENCE_SIO_BUSLESS = join(HERE, '..', 'reference', 'socketio-busless-server.mjs');

export const SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
/** The project's bus is signed (docs/bus.md): the bench source signs with this, the project under bench verifies. */
export const BUS_SECRET = 'bench-bus-secret-0123456789-abcdefghijklmnopqrstuvwxyz01';

/** Environment of the project under bench: production mode, feed external (the bench source is the feed). */
export function projectEnv(ctx, port, extra = {}, prefix = ctx.prefix) {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('npm_') || k === 'NODE_OPTIONS') delete env[k];
  return {
    ...env,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    SESSION_SECRET,
    BUS_SECRET,
    DATABASE_URL: ctx.databaseUrl,
    DATA_DIR: ctx.tmpDir,
    REDIS_URL: ctx.redisUrl,
    REDIS_PREFIX: prefix,
    PRICE_FEED_MODE: 'external',
    SEED_DEMO: 'false',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'log',
    LOG_FORMAT: 'text',
    ...extra,
  };
}

/** Starts dist/main.js and waits for GET /health = 200. */
export async function startProject(ctx, { name = 'project', extraEnv = {}, prefix = ctx.prefix } = {}) {
  const port = await freePort();
  const logFile = join(ctx.logDir, `${name}-${port}.log`);
  const fd = openSync(logFile, 'w');
  try {
    const server = await startServerProcess({
      name,
      script: join(ctx.dist, 'main.js'),
      cwd: ctx.root,
      env: projectEnv(ctx, port, extraEnv, prefix),
      probePath: PROBE,
      stdio: ['ignore', fd, fd, 'ipc'],
      ready: async () => (await httpStatus(`http://127.0.0.1:${port}/health`, 1_000)) === 200,
      timeoutMs: 60_000,
      logFile,
    });
    return { ...server, port, logFile };
  } finally {
    closeSync(fd);
  }
}

/** Starts a reference server script and waits until it answers HTTP. */
export async function startReference(ctx, script, name, { prefix = ctx.prefix } = {}) {
  const port = await freePort();
  const logFile = join(ctx.logDir, `${name}-${port}.log`);
  const fd = openSync(logFile, 'w');
  try {
    const server = await startServerProcess({
      name,
      script,
      cwd: ctx.root,
      env: { ...process.env, PORT: String(port), REDIS_URL: ctx.redisUrl, REDIS_PREFIX: prefix },
      probePath: PROBE,
      stdio: ['ignore', fd, fd, 'ipc'],
      ready: async () => (await httpStatus(`http://127.0.0.1:${port}/`, 1_000)) > 0,
      timeoutMs: 20_000,
      logFile,
    });
    return { ...server, port, logFile };
  } finally {
    closeSync(fd);
  }
}

/**
 * The fan-out targets: how to start each and where its clients connect. `reference`: 'redis' for the
 * Redis-fed references (prices from the bench's Redis source, like the project), 'busless' for the
 * references that tick prices in-process (their source is the server itself: fanout.mjs InProcessSource).
 */
const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';
export const TARGETS = {
  'ws-reference': { transport: 'ws', path: '/ws/realtime/', reference: 'redis', start: (ctx, o) => startReference(ctx, REFERENCE_WS, 'ws-reference', o) },
  'ws-reference-busless': {
    transport: 'ws',
    path: '/ws/realtime/',
    reference: 'busless',
    start: (ctx, o) => startReference(ctx, REFERENCE_WS_BUSLESS, 'ws-reference-busless', o),
  },
  'ws-project': { transport: 'ws', path: '/ws/realtime/', start: (ctx, o) => startProject(ctx, { name: 'ws-project', ...o }) },
  'sio-reference': { transport: 'sio', path: SIO_PATH, reference: 'redis', start: (ctx, o) => startReference(ctx, REFERENCE_SIO, 'sio-reference', o) },
  'sio-reference-busless': {
    transport: 'sio',
    path: SIO_PATH,
    reference: 'busless',
    start: (ctx, o) => startReference(ctx, REFERENCE_SIO_BUSLESS, 'sio-reference-busless', o),
  },
  'sio-project': { transport: 'sio', path: SIO_PATH, start: (ctx, o) => startProject(ctx, { name: 'sio-project', ...o }) },
  'ws-project-batched': { transport: 'ws', path: '/ws/realtime/?batch=50ms', start: (ctx, o) => startProject(ctx, { name: 'ws-project-batched', ...o }) },
};
