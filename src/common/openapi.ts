/**
 * Helpers for the OpenAPI document (@nestjs/swagger, explicit decorators: the
 * CLI plugin is not used, see docs/api.md "Machine-readable documents").
 */
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions, ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto';

/** Name of the session-cookie security scheme (cookie `rm.sid`, set by POST /auth/login). */
export const SESSION_SECURITY = 'session';
/** Name of the bearer-token security scheme of GET /metrics (METRICS_TOKEN). */
export const METRICS_SECURITY = 'metrics';

/** A decimal string as the API writes it: optional "-", digits, optional fraction, no exponent. */
export const DECIMAL_STRING_PATTERN = /^-?\d+(\.\d+)?$/;
/** A decimal given on input as a string (a JSON number is accepted too): digits, optional fraction. */
export const DECIMAL_INPUT_PATTERN = /^\d{1,30}(\.\d{1,30})?$/;

/** Every member of a string union, checked to be complete at compile time: `enumOf<Role>({ a: true, b: true })`. */
export function enumOf<U extends string>(members: Record<U, true>): U[] {
  return Object.keys(members) as U[];
}

type Extra = Omit<ApiPropertyOptions, 'type' | 'pattern' | 'nullable' | 'required' | 'example'>;

/** A decimal-string response field ("150.25"; never a float). */
export function ApiDecimal(example: string, opts: { nullable?: boolean; required?: boolean } & Extra = {}): PropertyDecorator {
  const { nullable, required, ...rest } = opts;
  return ApiProperty({
    ...rest,
    type: 'string',
    pattern: DECIMAL_STRING_PATTERN.source,
    example,
    nullable: nullable || undefined,
    required: required ?? true,
    description: [rest.description, 'Decimal string (exact; never a float).'].filter(Boolean).join(' '),
  } as ApiPropertyOptions);
}

/** A decimal request field: a JSON number or a decimal string (strings keep every digit). */
export function ApiDecimalInput(example: string, opts: { required?: boolean; description?: string } = {}): PropertyDecorator {
  return ApiProperty({
    required: opts.required ?? true,
    oneOf: [{ type: 'string', pattern: DECIMAL_INPUT_PATTERN.source, example }, { type: 'number' }],
    example,
    description: [opts.description, 'A JSON number or a decimal string (no exponent), normalised to a plain decimal string.'].filter(Boolean).join(' '),
  } as ApiPropertyOptions);
}

/** An ISO 8601 timestamp (UTC) response field. */
export function ApiDateTime(opts: { nullable?: boolean; description?: string } = {}): PropertyDecorator {
  return ApiProperty({
    type: 'string',
    format: 'date-time',
    example: '2026-11-25T22:50:00.000Z',
    nullable: opts.nullable || undefined,
    description: opts.description,
  } as ApiPropertyOptions);
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation problems listed in `details`), or a malformed JSON body',
  401: 'Not logged in (no valid `rm.sid` session cookie), or wrong credentials',
  403: 'Logged in, but not allowed (staff only)',
  404: 'Not found (someone else’s portfolio answers exactly like a missing one)',
  409: 'Conflicts with existing data',
  413: 'Request body larger than 100 kB',
  429: 'Too many requests: `details.retry_after` is the number of seconds to wait',
  503: 'The database is not answering (down, restarting or too slow): try again shortly',
};

export type DocumentedErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 503;

/**
 * Documents the error answers of an operation, each with the shared ErrorResponse schema:
 * `@ApiErrors(400, [409, 'Username taken'])` (a status alone gets the standard description).
 */
export function ApiErrors(...statuses: (DocumentedErrorStatus | [DocumentedErrorStatus, string])[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((s) => {
      const [status, description] = Array.isArray(s) ? s : [s, ERROR_DESCRIPTIONS[s]];
      return ApiResponse({ status, description, type: ErrorResponseDto });
    }),
  ) as MethodDecorator & ClassDecorator;
}

/** The one 503 every route may answer (even /health: a session lookup needs the database). */
export const DATABASE_UNAVAILABLE_RESPONSE = { status: 503, description: ERROR_DESCRIPTIONS[503], type: ErrorResponseDto } as const;
