import { ValidationPipe, ValidationPipeOptions } from '@nestjs/common';

/** One validation policy for REST bodies and socket messages: whitelist, forbid unknown fields, transform. */
export const VALIDATION_OPTIONS: ValidationPipeOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  forbidUnknownValues: true,
  stopAtFirstError: false,
  validationError: { target: false, value: false },
};

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe(VALIDATION_OPTIONS);
}
