import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiCookieAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { StaffGuard } from '../auth/guards/staff.guard';
import type { AssetHistoryJson } from '../common/api-types';
import { ApiErrors, SESSION_SECURITY } from '../common/openapi';
import { AssetJson } from './asset.json';
import { AssetPage, AssetsService } from './assets.service';
import { CreateAssetDto, HistoryQuery, ListAssetsQuery } from './dto/assets.dto';
import { AssetDto, AssetHistoryDto, AssetPageDto } from './dto/assets.responses.dto';

const SYMBOL_PARAM = { name: 'symbol', description: 'Case-insensitive (`btc-usd` is BTC-USD)', example: 'AAPL' } as const;

/** Public market data: the tracked assets and their daily history. Adding assets is staff-only. */
@ApiTags('assets')
@Controller('api/assets')
export class AssetsController {
  constructor(private readonly assets: AssetsService) {}

  @Get()
  @ApiOperation({ summary: 'List assets', description: 'Filter by type; `q` matches a symbol prefix or any part of the name. Ordered by symbol.' })
  @ApiOkResponse({ type: AssetPageDto })
  @ApiErrors(400)
  list(@Query() query: ListAssetsQuery): Promise<AssetPage> {
    return this.assets.list(query);
  }

  @Get(':symbol')
  @ApiOperation({ summary: 'One asset' })
  @ApiParam(SYMBOL_PARAM)
  @ApiOkResponse({ type: AssetDto })
  @ApiErrors([400, 'Malformed symbol'], [404, 'Unknown symbol'])
  get(@Param('symbol') symbol: string): Promise<AssetJson> {
    return this.assets.get(symbol);
  }

  @Get(':symbol/history')
  @ApiOperation({ summary: 'Daily price history', description: 'Daily bars of the last `days` days, oldest first.' })
  @ApiParam(SYMBOL_PARAM)
  @ApiOkResponse({ type: AssetHistoryDto })
  @ApiErrors([400, 'Malformed symbol or `days`'], [404, 'Unknown symbol'])
  history(@Param('symbol') symbol: string, @Query() query: HistoryQuery): Promise<AssetHistoryJson> {
    return this.assets.dailyHistory(symbol, query.days);
  }

  @Post()
  @HttpCode(201)
  @UseGuards(StaffGuard)
  @ApiOperation({ summary: 'Start tracking a new symbol (staff only)' })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiCreatedResponse({ type: AssetDto })
  @ApiErrors(400, 401, 403, [409, 'The symbol is already tracked'])
  create(@Body() dto: CreateAssetDto): Promise<AssetJson> {
    return this.assets.create(dto);
  }
}
