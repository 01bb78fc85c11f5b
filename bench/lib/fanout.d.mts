// Types of bench/lib/fanout.mjs (for the TypeScript tests).
export interface StepResult {
  rate: number;
  expected: number;
  delivered: number;
  deliveredRatio: number | null;
  deliveriesPerSec: number;
  framesPerSec: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  serverErrors: number;
  unexpectedCloses: number;
  openConnections: number;
  settled: boolean;
  [key: string]: unknown;
}
export interface SetupResult {
  clients: number;
  ready: number;
  failed: number;
  failures: Record<string, number>;
  elapsedMs: number;
  setupRate: number;
}
export class Source {
  static start(opts: { redisUrl: string; prefix: string; symbols: string[] }): Promise<Source>;
  close(): Promise<void>;
}
export interface SourceRun {
  sent: number;
  counts: number[];
  elapsedMs: number;
  achievedRate: number;
  maxLagMs: number;
  cpuMs: number;
  [key: string]: unknown;
}
export class InProcessSource {
  static start(
    server: { call(cmd: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<unknown> },
    opts: { symbols: string[] },
  ): Promise<InProcessSource>;
  run(args: { rate: number; startAt: number; durationMs: number; tickMs?: number; t0: number; t1: number }): Promise<SourceRun>;
  close(): Promise<void>;
}
export class LoadGenerator {
  constructor(workers: number);
  subs: number[] | null;
  connect(opts: {
    host?: string;
    port: number;
    path: string;
    transport: 'ws' | 'sio';
    namespace?: string;
    clients: number;
    perClient: number;
    symbols: string[];
    slow?: (i: number) => boolean;
    slowPerClient?: number;
    concurrency?: number;
    deadlineMs?: number;
    localAddresses?: string[];
  }): Promise<SetupResult>;
  waitQuiet(quietMs: number, maxMs: number): Promise<boolean>;
  stall(): Promise<{ stalled: number }[]>;
  disconnect(opts?: { reset?: boolean }): Promise<unknown>;
  close(): Promise<void>;
}
export function runStep(opts: {
  gen: LoadGenerator;
  source: Source | InProcessSource;
  server: { pid: number };
  rate: number;
  warmupMs: number;
  windowMs: number;
  tickMs?: number;
  drainMs?: number;
  settleMs?: number;
  sampleRss?: number;
  redisPid?: number;
  prefix?: string;
}): Promise<StepResult>;
export function waitForMachineIdle(maxMs: number, busyBelowPct?: number): Promise<number | null>;
