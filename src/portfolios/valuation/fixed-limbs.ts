/**
 * Allocation-free exact arithmetic for the live valuation engine's hot path.
 *
 * A fixed16 value (an integer scaled by 10^16, see valuation.math.ts) is held
 * as three Number "limbs" in base L = 10^7:  v = x2·10^14 + x1·10^7 + x0,
 * with 0 ≤ x0, x1 < 10^7 and x2 a safe integer. Every intermediate stays an
 * integer below 2^53, so Number arithmetic is exact; formatting needs no
 * BigInt. Values that do not fit are handled by the callers' BigInt path.
 */
import { percentOf } from './valuation.math';

export const LIMB = 1e7;
const LIMB_BIG = 10_000_000n;
const LIMB2_BIG = LIMB_BIG * LIMB_BIG;
/** |x2| above this is folded into BigInt by the hot path (leaves room for one more product < 10^15). */
export const TOP_LIMIT = 4e15;
/** Largest fixed8 quantity / |price delta| with the fast path (10M units, $1M per tick). */
export const FAST_QUANTITY = 1_000_000_000_000_000n; // 10^15
export const FAST_DELTA = 100_000_000_000_000n; // 10^14

/** floor(x / L) and x mod L for an integer x (|x| < 2^53), exact. */
export function splitLimb(x: number): [carry: number, rest: number] {
  let c = Math.floor(x / LIMB);
  let r = x - c * LIMB;
  if (r < 0) {
    c -= 1;
    r += LIMB;
  } else if (r >= LIMB) {
    c += 1;
    r -= LIMB;
  }
  return [c, r];
}

/** The limbs of a fixed16 BigInt, or null when x2 would exceed TOP_LIMIT. */
export function limbsOf(v: bigint): [number, number, number] | null {
  let x2 = v / LIMB2_BIG;
  let rest = v % LIMB2_BIG;
  if (rest < 0n) {
    rest += LIMB2_BIG;
    x2 -= 1n;
  }
  if (x2 > BigInt(TOP_LIMIT) || x2 < -BigInt(TOP_LIMIT)) return null;
  return [Number(x2), Number(rest / LIMB_BIG), Number(rest % LIMB_BIG)];
}

export function limbsToBigInt(x2: number, x1: number, x0: number): bigint {
  return BigInt(x2) * LIMB2_BIG + BigInt(x1) * LIMB_BIG + BigInt(x0);
}

const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000'];

/** n (0 ≤ n < 10^width, width ≤ 7) written with exactly `width` digits. */
const pad = (n: number, width: number): string => {
  const s = '' + n;
  return s.length >= width ? s : ZEROS[width - s.length] + s;
};

/** n (0 < n < 10^width) written with `width` digits, then without its trailing zeros (digits after a point). */
const padTrimmed = (n: number, width: number): string => {
  while (n % 10 === 0) {
    n /= 10;
    width--;
  }
  return pad(n, width);
};

/** A fixed16 value in limbs as a plain decimal string — identical to formatFixed16 of the same value. */
export function formatLimbs16(x2: number, x1: number, x0: number): string {
  let neg = false;
  if (x2 < 0) {
    // Negate (x2, x1, x0) and renormalise so the limbs are non-negative.
    neg = true;
    x2 = -x2;
    x1 = -x1;
    x0 = -x0;
    if (x0 < 0) {
      x0 += LIMB;
      x1 -= 1;
    }
    if (x1 < 0) {
      x1 += LIMB;
      x2 -= 1;
    }
  }
  const low = x2 % 100; // 10^14 · x2 = 10^16 · (x2 div 100) + 10^14 · (x2 mod 100)
  const int = (x2 - low) / 100;
  // The 16 digits after the point are low (2), x1 (7), x0 (7); trailing zeros are dropped.
  let frac: string;
  if (x0 !== 0) frac = pad(low, 2) + pad(x1, 7) + padTrimmed(x0, 7);
  else if (x1 !== 0) frac = pad(low, 2) + padTrimmed(x1, 7);
  else if (low !== 0) frac = padTrimmed(low, 2);
  else return int === 0 ? '0' : (neg ? '-' : '') + int;
  return (neg ? '-' : '') + int + '.' + frac;
}

/**
 * part / whole × 100 with 4 decimals, half away from zero — the same string as
 * percentOf on the BigInt values. Computed in floating point and accepted only
 * when the result is far from a rounding tie; otherwise falls back to the exact
 * BigInt computation.
 */
export function percentOfLimbs(c2: number, c1: number, c0: number, p2: number, p1: number, p0: number): string {
  if (p2 === 0 && p1 === 0 && p0 === 0) return '0';
  const part = c2 * 1e14 + c1 * 1e7 + c0;
  const whole = p2 * 1e14 + p1 * 1e7 + p0;
  const y = (part / whole) * 1e6;
  const a = Math.abs(y);
  if (a < 9e15) {
    const fl = Math.floor(a);
    const frac = a - fl;
    if (Math.abs(frac - 0.5) > Math.max(a * 1e-12, 1e-9)) {
      const r = frac > 0.5 ? fl + 1 : fl;
      if (r === 0) return '0';
      const f = r % 10000;
      const i = (r - f) / 10000;
      return (y < 0 ? '-' : '') + i + (f === 0 ? '' : '.' + padTrimmed(f, 4));
    }
  }
  return percentOf(limbsToBigInt(c2, c1, c0), limbsToBigInt(p2, p1, p0));
}
