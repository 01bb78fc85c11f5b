import { CanActivate, createParamDecorator, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../../auth/auth-user';
import { Portfolio } from '../entities/portfolio.entity';
import { PortfolioAccessService } from '../portfolio-access.service';

type RequestWithPortfolio = Request & { portfolio?: Portfolio };

/**
 * Lets the request through only if the `:id` portfolio belongs to the
 * logged-in user (asked of PortfolioAccessService, the one ownership check).
 * Not yours, nonexistent and malformed ids all answer the same 404.
 * Use after AuthenticatedGuard; the handler reads it with `@OwnedPortfolio()`.
 */
@Injectable()
export class PortfolioOwnerGuard implements CanActivate {
  constructor(private readonly access: PortfolioAccessService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<RequestWithPortfolio>();
    const raw = String(req.params.id ?? '');
    const id = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    const user = req.user as AuthUser | undefined;
    const portfolio = Number.isSafeInteger(id) ? await this.access.findOwned(user?.id, id) : null;
    if (!portfolio) throw new NotFoundException(`Portfolio ${raw.slice(0, 20)} not found`);
    req.portfolio = portfolio;
    return true;
  }
}

/** The portfolio PortfolioOwnerGuard checked for this request. */
export const OwnedPortfolio = createParamDecorator((_data: unknown, ctx: ExecutionContext): Portfolio => {
  const p = ctx.switchToHttp().getRequest<RequestWithPortfolio>().portfolio;
  if (!p) throw new NotFoundException('Portfolio not found');
  return p;
});
