import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { ErrorResponse } from './api-types';
import type { AssertTrue, StrictSame } from './type-checks';

/** OpenAPI schema of the one error shape (src/common/http-exception.filter.ts). */
@ApiSchema({ name: 'ErrorResponse', description: 'Every HTTP error has this shape; never a stack trace.' })
export class ErrorResponseDto implements ErrorResponse {
  @ApiProperty({ type: 'integer', example: 404, description: 'The HTTP status code, repeated.' })
  statusCode: number;

  @ApiProperty({
    example: 'NOT_FOUND',
    description: 'The status name: BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, CONFLICT, PAYLOAD_TOO_LARGE, TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE, ...',
  })
  error: string;

  @ApiProperty({ example: 'Asset NOPE not found', description: 'What went wrong, for people (several validation problems are joined with "; ").' })
  message: string;

  @ApiProperty({
    required: false,
    description: 'Validation problems, one line each (400), or structured details such as `{"retry_after": 30}` (429).',
    oneOf: [
      { type: 'array', items: { type: 'string' } },
      { type: 'object', additionalProperties: true },
    ],
  })
  details?: string[] | Record<string, unknown>;
}

export type _ErrorResponseDtoFits = AssertTrue<StrictSame<ErrorResponse, ErrorResponseDto>>;
