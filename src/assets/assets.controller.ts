import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { StaffGuard } from '../auth/guards/staff.guard';
import { AssetJson } from './asset.json';
import { AssetPage, AssetsService } from './assets.service';
import { CreateAssetDto, HistoryQuery, ListAssetsQuery } from './dto/assets.dto';

/** Public market data: the tracked assets and their daily history. Adding assets is staff-only. */
@Controller('api/assets')
export class AssetsController {
  constructor(private readonly assets: AssetsService) {}

  @Get()
  list(@Query() query: ListAssetsQuery): Promise<AssetPage> {
    return this.assets.list(query);
  }

  @Get(':symbol')
  get(@Param('symbol') symbol: string): Promise<AssetJson> {
    return this.assets.get(symbol);
  }

  @Get(':symbol/history')
  history(@Param('symbol') symbol: string, @Query() query: HistoryQuery) {
    return this.assets.dailyHistory(symbol, query.days);
  }

  @Post()
  @HttpCode(201)
  @UseGuards(StaffGuard)
  create(@Body() dto: CreateAssetDto): Promise<AssetJson> {
    return this.assets.create(dto);
  }
}
