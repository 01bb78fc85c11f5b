// Types of bench/lib/servers.mjs (for the TypeScript tests).
export interface BenchContext {
  root: string;
  dist?: string;
  tmpDir: string;
  logDir: string;
  redisUrl: string;
  prefix: string;
  databaseUrl?: string;
}
export interface StartedServer {
  pid: number;
  port: number;
  logFile: string;
  startMs: number;
  memory(): Promise<{ rss: number; heapUsed: number }>;
  call(cmd: string, payload?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
  stop(graceMs?: number): Promise<void>;
}
export const REFERENCE_WS: string;
export const REFERENCE_SIO: string;
export const REFERENCE_WS_BUSLESS: string;
export const REFERENCE_SIO_BUSLESS: string;
export function startReference(ctx: BenchContext, script: string, name: string): Promise<StartedServer>;
