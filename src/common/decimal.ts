import Decimal from 'decimal.js';

/** One decimal configuration for the whole service: 40 significant digits, banker-free half-up rounding. */
export const D = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = InstanceType<typeof D>;

export function dec(v: Decimal.Value | null | undefined): Dec {
  return new D(v ?? 0);
}

/** Decimal to a JSON number for wire formats that the specification guide defines as numbers. */
export function toNumber(v: Dec, dp = 8): number {
  return Number(v.toDecimalPlaces(dp).toString());
}
