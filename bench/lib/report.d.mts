// Types of bench/lib/report.mjs (for the TypeScript tests).
export interface TargetVerdict {
  id: string;
  goal: string;
  measured: string;
  status: 'met' | 'missed' | 'not measured';
}
export function evaluateTargets(results: Record<string, unknown>): TargetVerdict[];
export function renderReport(results: Record<string, unknown>): string;
