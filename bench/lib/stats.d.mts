// Types of bench/lib/stats.mjs (for the TypeScript tests in test/unit/bench).
export interface Histogram {
  readonly totalCount: number;
  recordValue(value: number): void;
  getValueAtPercentile(p: number): number;
}
export interface Criteria {
  p99Ms: number;
  minDelivered: number;
}
export interface StepLike {
  expected: number;
  delivered: number;
  p99: number | null;
}
export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}
export const DEFAULT_CRITERIA: Readonly<Criteria>;
export function newLatencyHistogram(): Histogram;
export function encodeHistogram(h: Histogram): string;
export function mergeHistograms(encoded: (string | null | undefined)[]): Histogram;
export function latencySummary(h: Histogram): LatencySummary;
export function percentile(samples: number[], p: number): number | null;
export function median(values: (number | null | undefined)[]): number | null;
export function round(x: number | null | undefined, digits?: number): number | null;
export function expectedDeliveries(ticksPerSymbol: number[], subscribersPerSymbol: number[]): number;
export function stepPasses(step: StepLike | null | undefined, criteria?: Criteria): boolean;
export function sweepSaturation<S extends StepLike>(
  runStep: (rate: number) => Promise<S>,
  opts: {
    start: number;
    factor?: number;
    refine?: number;
    maxSteps?: number;
    maxRate?: number;
    minRate?: number;
    criteria?: Criteria;
    confirmFailures?: boolean;
  },
): Promise<{
  steps: (S & { rate: number; pass: boolean })[];
  best: (S & { rate: number; pass: boolean }) | null;
  bracket: { pass: number | null; fail: number | null };
}>;
export function ratio(a: number | null | undefined, b: number | null | undefined, digits?: number): number | null;
export function markdownTable<R>(rows: R[], columns: [string, (row: R) => unknown][]): string;
export function fmt(x: number | null | undefined, digits?: number): string | null;
export function parseNumberAt(buf: Uint8Array, pos: number): number;
export function publishedAtValues(buf: Buffer, out?: number[]): number[];
export function symbolsForClient(index: number, perClient: number, symbolCount: number): number[];
export function subscribersPerSymbol(clients: number, perClient: number, symbolCount: number, skip?: (i: number) => boolean): number[];
