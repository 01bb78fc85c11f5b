import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../auth-user';
import { AuthenticatedGuard } from './authenticated.guard';

/** Staff only: 401 when not logged in, 403 for a logged-in non-staff user. Use: `@UseGuards(StaffGuard)`. */
@Injectable()
export class StaffGuard implements CanActivate {
  private readonly authenticated = new AuthenticatedGuard();

  canActivate(context: ExecutionContext): boolean {
    this.authenticated.canActivate(context);
    const user = context.switchToHttp().getRequest<Request>().user as AuthUser;
    if (!user.isStaff) throw new ForbiddenException('Staff only');
    return true;
  }
}
