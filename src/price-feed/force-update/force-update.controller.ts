import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/current-user.decorator';
import { AuthenticatedGuard } from '../../auth/guards/authenticated.guard';
import { ApiErrors, SESSION_SECURITY } from '../../common/openapi';
import { ForceUpdateDto } from './force-update.dto';
import { ForceUpdateResponseDto } from './force-update.responses.dto';
import { ForceUpdateResponse, ForceUpdateService } from './force-update.service';

/** The guide's REST: POST /api/realtime/force_price_update/ (with or without the trailing slash). */
@ApiTags('realtime')
@Controller('api/realtime')
export class ForceUpdateController {
  constructor(private readonly service: ForceUpdateService) {}

  @Post('force_price_update')
  @HttpCode(200)
  @UseGuards(AuthenticatedGuard)
  @ApiOperation({
    summary: 'Fetch these prices now',
    description:
      'Runs the price feed’s pipeline for the symbols at once (throttled per user: FORCE_UPDATE_RATE_PER_MINUTE); subscribers get the new prices as `asset_update` messages. Also answers with a trailing slash (the guide’s path).',
  })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiOkResponse({ type: ForceUpdateResponseDto })
  @ApiErrors(400, 401, 429)
  forcePriceUpdate(@CurrentUser() user: AuthUser, @Body() body: ForceUpdateDto): Promise<ForceUpdateResponse> {
    return this.service.forceUpdate(user.id, body.symbols);
  }
}
