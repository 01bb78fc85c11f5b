import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { User } from './entities/user.entity';
import { LoginRateLimiter } from './login-rate-limiter';
import { PassportService } from './passport.service';
import { SessionService } from './session.service';
import { UsersService } from './users.service';

/**
 * Accounts and sessions. Reusable pieces: AuthenticatedGuard
 * (guards/authenticated.guard.ts), StaffGuard (guards/staff.guard.ts),
 * @CurrentUser() (current-user.decorator.ts), SessionService, UsersService.
 */
@Module({
  imports: [TypeOrmModule.forFeature([User])],
  controllers: [AuthController],
  providers: [SessionService, UsersService, LoginRateLimiter, PassportService, AuthService],
  exports: [SessionService, UsersService, PassportService],
})
export class AuthModule {}
