import { ValidationPipe, ValidationPipeOptions } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

/** One validation policy for REST bodies and socket messages: whitelist, forbid unknown fields, transform. */
export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
};

/** Checks of presence and type: when one fails, the field's other messages (ranges, lengths) say nothing useful. */
const FIRST_CONSTRAINTS = [
  'isDefined',
  'isInt',
  'isNumber',
  'isNumberString',
  'isString',
  'isBoolean',
  'isArray',
  'isObject',
  'isDateString',
  'isDate',
  'isEnum',
  'isIn',
];

/**
 * The one message shown for a field that failed several constraints: the presence or
 * type check when that failed (`limit must be an integer number`, not also "must not be
 * greater than 500; must not be less than 1"), else the first failure.
 */
export function fieldMessage(constraints: Record<string, string>): string {
  const name = firstFailure(constraints);
  return name === undefined ? 'is invalid' : constraints[name];
}

function firstFailure(constraints: Record<string, string>): string | undefined {
  return FIRST_CONSTRAINTS.find((name) => constraints[name] !== undefined) ?? Object.keys(constraints)[0];
}

/** The same errors with at most one message per field (nested fields too). */
function oneMessagePerField(errors: ValidationError[]): ValidationError[] {
  return errors.map((e) => {
    const out = Object.assign(Object.create(Object.getPrototypeOf(e) as object) as ValidationError, e);
    const name = e.constraints ? firstFailure(e.constraints) : undefined;
    if (e.constraints && name !== undefined) out.constraints = { [name]: e.constraints[name] };
    if (e.children?.length) out.children = oneMessagePerField(e.children);
    return out;
  });
}

/** REST validation: Nest's pipe with one message per field. */
class OneMessagePerFieldValidationPipe extends ValidationPipe {
  protected override flattenValidationErrors(validationErrors: ValidationError[]): string[] {
    return super.flattenValidationErrors(oneMessagePerField(validationErrors));
  }
}

export function createValidationPipe(): ValidationPipe {
  return new OneMessagePerFieldValidationPipe(VALIDATION_OPTIONS);
}
