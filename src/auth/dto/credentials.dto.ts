import { IsString, Matches, MaxLength, MinLength } from 'class-validator';

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** POST /auth/register body. */
export class RegisterDto {
  @IsString()
  @MinLength(3)
  @MaxLength(150)
  @Matches(USERNAME_PATTERN, { message: 'username may contain only letters, digits, "_", "." and "-"' })
  username: string;

  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters long' })
  @MaxLength(256)
  password: string;
}

/** POST /auth/login body (no length rules: a wrong password is a 401, not a 400). */
export class LoginDto {
  @IsString()
  @MinLength(1)
  @MaxLength(150)
  username: string;

  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password: string;
}
