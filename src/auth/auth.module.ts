import { Module } from '@nestjs/common';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { LoginRateLimiter } from './login-rate-limiter';
import { PassportService } from './passport.service';
import { SessionService } from './session.service';
import { UsersModule } from './users.module';

/**
 * Accounts and sessions. Reusable pieces: AuthenticatedGuard
 * (guards/authenticated.guard.ts), StaffGuard (guards/staff.guard.ts),
 * @CurrentUser() (current-user.decorator.ts), SessionService, UsersService.
 */
@Module({
  imports: [UsersModule],
  controllers: [AuthController],
  providers: [SessionService, LoginRateLimiter, PassportService, AuthService],
  exports: [SessionService, UsersModule, PassportService],
})
export class AuthModule {}
