import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { LogoutJson, UserJson } from '../../common/api-types';
import { ApiDateTime } from '../../common/openapi';
import type { AssertTrue, StrictSame } from '../../common/type-checks';

/** OpenAPI schema of UserJson (src/common/api-types.ts). */
@ApiSchema({ name: 'User', description: 'A user (the password hash is never returned).' })
export class UserDto implements UserJson {
  @ApiProperty({ type: 'integer', example: 7 })
  id: number;

  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ example: false, description: 'Staff may add assets (POST /api/assets).' })
  is_staff: boolean;

  @ApiDateTime()
  created_at: string;
}

@ApiSchema({ name: 'LogoutResult' })
export class LogoutDto implements LogoutJson {
  @ApiProperty({ example: true, description: 'False when there was no login to end.' })
  logged_out: boolean;
}

export type _AuthDtosFit = [AssertTrue<StrictSame<UserJson, UserDto>>, AssertTrue<StrictSame<LogoutJson, LogoutDto>>];
