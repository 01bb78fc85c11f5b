import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** POST /auth/register body. */
export class RegisterDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 150,
    pattern: USERNAME_PATTERN.source,
    example: 'alice',
    description: 'Letters, digits, "_", "." and "-" (case-sensitive).',
  })
  @IsString()
  @MinLength(3)
  @MaxLength(150)
  @Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' })
  username: string;

  @ApiProperty({ minLength: 8, maxLength: 256, example: 'correct horse battery', description: 'Stored as an argon2id hash.' })
  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters long' })
  @MaxLength(256)
  password: string;
}

/** POST /auth/login body (no length rules: a wrong password is a 401, not a 400). */
export class LoginDto {
  @ApiProperty({ minLength: 1, maxLength: 150, example: 'demo' })
  @IsString()
  @MinLength(1)
  @MaxLength(150)
  username: string;

  @ApiProperty({ minLength: 1, maxLength: 256, example: 'demo-password' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password: string;
}
