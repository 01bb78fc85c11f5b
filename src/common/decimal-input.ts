import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { D } from './decimal';

const PLAIN = /^\d{1,30}(\.\d{1,30})?$/;
const MAX_INPUT_LENGTH = 40;

/**
 * Turns a JSON number or a decimal string into a canonical plain decimal
 * string ("12", "0.1", "1e-7" -> "0.0000001"); anything else is returned
 * unchanged for the validator to reject. Strings keep every digit they had.
 */
function normaliseDecimalInput(value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return value;
    // Shortest round-trip text of the double (0.1 -> "0.1"), then plain notation.
    return new D(String(value)).toFixed();
  }
  if (typeof value === 'string') {
    const s = value.trim();
    if (s.length === 0 || s.length > MAX_INPUT_LENGTH) return value;
    if (PLAIN.test(s)) return stripZeros(s);
    return value;
  }
  return value;
}

function stripZeros(s: string): string {
  let out = s.replace(/^0+(?=\d)/, '');
  if (out.includes('.')) out = out.replace(/0+$/, '').replace(/\.$/, '');
  return out;
}

export interface DecimalRule {
  /** Exclusive lower bound (e.g. "0" for > 0). */
  gt?: string;
  /** Inclusive lower bound. */
  gte?: string;
  /** Inclusive upper bound. */
  lte: string;
  /** Most digits after the point (default 8, what the NUMERIC columns store). */
  maxDecimals?: number;
}

/**
 * A decimal given as a JSON number or a decimal string (e.g. `12`, `"0.1"`,
 * `"150.25"`), normalised to a plain string. Rejects other types, exponents in
 * strings, more than `maxDecimals` decimals and values outside the bounds,
 * with a message naming the field.
 */
export function IsDecimalInput(rule: DecimalRule, options?: ValidationOptions): PropertyDecorator {
  const maxDecimals = rule.maxDecimals ?? 8;
  return (target: object, propertyKey: string | symbol) => {
    Transform(({ value }) => normaliseDecimalInput(value))(target, propertyKey);
    registerDecorator({
      name: 'isDecimalInput',
      target: target.constructor,
      propertyName: propertyKey as string,
      options,
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'string' || !PLAIN.test(value)) return false;
          const frac = value.split('.')[1] ?? '';
          if (frac.length > maxDecimals) return false;
          const d = new D(value);
          if (rule.gt !== undefined && !d.gt(rule.gt)) return false;
          if (rule.gte !== undefined && !d.gte(rule.gte)) return false;
          return d.lte(rule.lte);
        },
        defaultMessage(args: ValidationArguments) {
          const lower = rule.gt !== undefined ? `greater than ${rule.gt}` : rule.gte !== undefined ? `at least ${rule.gte}` : '';
          return `${args.property} must be a decimal number (JSON number or string like "12.5") ${lower ? lower + ', ' : ''}at most ${rule.lte}, with at most ${maxDecimals} decimal places`;
        },
      },
    });
  };
}
