import { describe, expect, it } from 'vitest';
import {
  formatChange,
  formatMoney,
  formatPercent,
  formatPrice,
  formatSignedMoney,
  formatVolume,
  priceDecimals,
  signClass,
} from '../../../web/src/shared/format';

describe('dashboard number formatting', () => {
  it('picks decimals by asset type and size', () => {
    expect(priceDecimals(229.85, 'STOCK')).toBe(2);
    expect(priceDecimals(1.09344, 'FOREX')).toBe(5);
    expect(priceDecimals(151.2, 'FOREX')).toBe(3);
    expect(priceDecimals(0.4321, 'CRYPTO')).toBe(4);
    expect(priceDecimals(0.000123, 'CRYPTO')).toBe(6);
    expect(formatPrice(63247.1, 'CRYPTO')).toBe('63,247.10');
    expect(formatPrice(1.09344, 'FOREX')).toBe('1.09344');
    expect(formatPrice(null)).toBe('—');
  });

  it('signs changes with a real minus, and shows no sign when the shown digits are zero', () => {
    expect(formatChange(2.5, 150)).toBe('+2.50');
    expect(formatChange(-0.123, 150)).toBe('−0.12');
    expect(formatChange(-0.001, 150)).toBe('0.00');
    expect(formatPercent(1.6912)).toBe('+1.69%');
    expect(formatPercent(-0.0004)).toBe('0.00%');
    expect(formatPercent(Number.NaN)).toBe('—');
    expect(formatSignedMoney('-1234.5')).toBe('−$1,234.50');
    expect(formatSignedMoney(0.001)).toBe('$0.00');
  });

  it('formats money and volumes', () => {
    expect(formatMoney('90891.31')).toBe('$90,891.31');
    expect(formatMoney(12.5, 'EUR')).toBe('€12.50');
    expect(formatVolume(52_100_000)).toBe('52.1M');
    expect(formatVolume(null)).toBe('—');
    expect(signClass(-1)).toBe('down');
    expect(signClass(0)).toBe('');
    expect(signClass(3)).toBe('up');
  });
});
