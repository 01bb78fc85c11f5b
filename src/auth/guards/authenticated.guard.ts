import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';

/** Lets logged-in users through; anyone else gets a 401 JSON error. Use: `@UseGuards(AuthenticatedGuard)`. */
@Injectable()
export class AuthenticatedGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    if (req.user && typeof req.isAuthenticated === 'function' && req.isAuthenticated()) return true;
    throw new UnauthorizedException('Authentication required');
  }
}
