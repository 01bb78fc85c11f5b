import { describe, expect, it } from 'vitest';
import { formatLimbs16, limbsOf, limbsToBigInt, percentOfLimbs, splitLimb, TOP_LIMIT } from '../../../src/portfolios/valuation/fixed-limbs';
import { formatFixed16, percentOf } from '../../../src/portfolios/valuation/valuation.math';

/** Seeded random BigInt with up to `digits` decimal digits, either sign. */
function rng(seed: number) {
  let s = seed;
  const next = () => (s = (s * 48271) % 2147483647) / 2147483647;
  return {
    next,
    big(digits: number, signed = true): bigint {
      const n = 1 + Math.floor(next() * digits);
      let str = '';
      for (let i = 0; i < n; i++) str += Math.floor(next() * 10);
      const v = BigInt(str);
      return signed && next() < 0.5 ? -v : v;
    },
  };
}

describe('fixed16 limbs (engine fast path)', () => {
  it('splits any safe integer exactly into carry and a rest in [0, 10^7)', () => {
    const r = rng(3);
    for (let i = 0; i < 5000; i++) {
      const x = Number(r.big(15));
      const [c, rest] = splitLimb(x);
      expect(rest).toBeGreaterThanOrEqual(0);
      expect(rest).toBeLessThan(1e7);
      expect(c * 1e7 + rest).toBe(x);
    }
  });

  it('round-trips values through limbs and formats them exactly like formatFixed16', () => {
    const r = rng(11);
    const cases = [0n, 1n, -1n, 10n ** 16n, -(10n ** 16n), 5n * 10n ** 15n, 123456789012345678901234n, -99999999999999n];
    for (let i = 0; i < 5000; i++) cases.push(r.big(29)); // |v| < 4·10^29 fits
    for (const v of cases) {
      const l = limbsOf(v)!;
      expect(l, String(v)).not.toBeNull();
      expect(limbsToBigInt(...l)).toBe(v);
      expect(formatLimbs16(...l)).toBe(formatFixed16(v));
    }
    expect(limbsOf(BigInt(TOP_LIMIT + 1) * 10n ** 14n)).toBeNull();
  });

  it('formats values with zeros at every position (whole limbs zero, trailing zeros) exactly like formatFixed16', () => {
    const r = rng(17);
    const cases: bigint[] = [];
    // Few significant digits shifted to every scale: limbs x0 and/or x1 and the low digits of x2 become 0.
    for (let shift = 0n; shift <= 24n; shift++) {
      for (let i = 0; i < 60; i++) cases.push(r.big(1 + Math.floor(r.next() * 5)) * 10n ** shift); // < 10^29: fits the limbs
      cases.push(10n ** shift, -(10n ** shift), 5n * 10n ** shift, -(25n * 10n ** shift));
    }
    for (const v of cases) {
      const l = limbsOf(v)!;
      expect(formatLimbs16(...l), String(v)).toBe(formatFixed16(v));
    }
    // Percentages whose 4 decimals end in zeros, or have none.
    for (const [part, whole] of [
      [1n, 10n],
      [-1n, 100n],
      [3n, 1000n],
      [7n, 10_000n],
      [1n, 1n],
      [-25n, 1n],
      [123n, 1_000_000n],
    ] as [bigint, bigint][]) {
      for (const scale of [1n, 10n ** 8n, 10n ** 15n]) {
        expect(percentOfLimbs(...limbsOf(part * scale)!, ...limbsOf(whole * scale)!), `${part}/${whole}`).toBe(percentOf(part * scale, whole * scale));
      }
    }
  });

  it('gives the same percentages as the exact BigInt computation, ties included', () => {
    const r = rng(29);
    const pairs: [bigint, bigint][] = [
      [1n, 8n],
      [1n, 3n],
      [-2n, 3n],
      [1n, 2_000_000n], // exactly 0.00005 %: a tie, rounds away from zero
      [-1n, 2_000_000n],
      [5n, 0n],
      [0n, 7n],
      [125n * 10n ** 15n, 10n ** 18n], // 12.5 %
    ];
    for (let i = 0; i < 5000; i++) pairs.push([r.big(24), r.big(24, false)]);
    // Values built to sit exactly on a rounding tie: part/whole*10^6 = k + 0.5.
    for (let i = 0; i < 500; i++) {
      const whole = 2n * (1n + r.big(12, false));
      const k = r.big(6);
      pairs.push([(2n * k + 1n) * (whole / 2n), whole * 1_000_000n]);
    }
    for (const [part, whole] of pairs) {
      const pl = limbsOf(part)!;
      const wl = limbsOf(whole)!;
      expect(percentOfLimbs(...pl, ...wl), `${part}/${whole}`).toBe(percentOf(part, whole));
    }
  });
});
