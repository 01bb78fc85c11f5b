import { ValueTransformer } from 'typeorm';

/**
 * NUMERIC columns stay exact: PostgreSQL returns them as strings and we keep
 * them as strings in entities; arithmetic happens with decimal.js (see common/decimal.ts).
 */
export const numericColumn = { type: 'numeric' as const, precision: 28, scale: 8 };
export const priceColumn = { type: 'numeric' as const, precision: 24, scale: 8 };

/** Normalises "150.25000000" to "150.25" when reading, so API output is tidy. */
export const trimNumeric: ValueTransformer = {
  to: (v: string | null | undefined) => v,
  from: (v: string | null) => (v == null ? v : trimZeros(v)),
};

export function trimZeros(v: string): string {
  if (!v.includes('.')) return v;
  const t = v.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
}
