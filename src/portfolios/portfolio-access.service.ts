import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Portfolio } from './entities/portfolio.entity';

/**
 * The one place that decides who may see a portfolio. REST (through
 * PortfolioOwnerGuard) and both socket transports ask it. A portfolio that is
 * not the caller's is indistinguishable from one that does not exist.
 */
@Injectable()
export class PortfolioAccessService {
  constructor(@InjectRepository(Portfolio) private readonly portfolios: Repository<Portfolio>) {}

  /** The portfolio if `userId` owns it, otherwise null (also for nonexistent ids). */
  async findOwned(userId: number | null | undefined, portfolioId: number): Promise<Portfolio | null> {
    if (userId == null || !Number.isSafeInteger(portfolioId) || portfolioId <= 0 || portfolioId > 2_147_483_647) return null;
    return this.portfolios.findOne({ where: { id: portfolioId, ownerId: userId } });
  }

  /** Like findOwned, but throws the API's 404 for REST callers. */
  async requireOwned(userId: number | null | undefined, portfolioId: number): Promise<Portfolio> {
    const p = await this.findOwned(userId, portfolioId);
    if (!p) throw new NotFoundException(`Portfolio ${portfolioId} not found`);
    return p;
  }
}
