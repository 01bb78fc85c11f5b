import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/current-user.decorator';
import { AuthenticatedGuard } from '../../auth/guards/authenticated.guard';
import { ForceUpdateDto } from './force-update.dto';
import { ForceUpdateResponse, ForceUpdateService } from './force-update.service';

/** The guide's REST: POST /api/realtime/force_price_update/ (with or without the trailing slash). */
@Controller('api/realtime')
export class ForceUpdateController {
  constructor(private readonly service: ForceUpdateService) {}

  @Post('force_price_update')
  @HttpCode(200)
  @UseGuards(AuthenticatedGuard)
  forcePriceUpdate(@CurrentUser() user: AuthUser, @Body() body: ForceUpdateDto): Promise<ForceUpdateResponse> {
    return this.service.forceUpdate(user.id, body.symbols);
  }
}
