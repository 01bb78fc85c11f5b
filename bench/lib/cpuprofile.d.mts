// Types of bench/lib/cpuprofile.mjs (for the TypeScript tests in test/unit/bench).
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number; scriptId?: string };
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime?: number;
  endTime?: number;
  samples: number[];
  timeDeltas?: number[];
}
export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  share: Record<string, number>;
  top: { fn: string; selfPct: number; selfMs: number }[];
}
export interface LongTask {
  ms: number;
  held: string[];
}
export function summariseProfile(profile: CpuProfile, opts?: { top?: number; root?: string }): ProfileSummary;
export function longTasks(profile: CpuProfile, opts?: { minMs?: number; top?: number; root?: string }): LongTask[];
