import { createParamDecorator, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from './auth-user';

export type { AuthUser } from './auth-user';

/**
 * The logged-in user `{id, username, isStaff, createdAt}` of an HTTP request.
 * Use behind AuthenticatedGuard: `handler(@CurrentUser() user: AuthUser)`.
 * Throws 401 if there is none (a handler without the guard fails closed).
 */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  const user = ctx.switchToHttp().getRequest<Request>().user as AuthUser | undefined;
  if (!user) throw new UnauthorizedException('Authentication required');
  return user;
});
