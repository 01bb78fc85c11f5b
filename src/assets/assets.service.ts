import { BadRequestException, ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { AssetCatalogService } from './asset-catalog.service';
import type { AssetHistoryJson, AssetJson, AssetPage } from '../common/api-types';
import { toAssetJson, toHistoryPointJson } from './asset.json';
import { SYMBOL_PATTERN } from './catalog/catalog';
import { CreateAssetDto, ListAssetsQuery } from './dto/assets.dto';
import { Asset } from './entities/asset.entity';
import { PriceHistory } from './entities/price-history.entity';

export type { AssetPage } from '../common/api-types';

/** Reads and adds assets for the REST API. */
@Injectable()
export class AssetsService {
  constructor(
    @InjectRepository(Asset) private readonly assets: Repository<Asset>,
    @InjectRepository(PriceHistory) private readonly history: Repository<PriceHistory>,
    private readonly catalog: AssetCatalogService,
  ) {}

  /** Filter by type; `q` matches a symbol prefix or any part of the name, case-insensitively. Ordered by symbol. */
  async list(query: ListAssetsQuery): Promise<AssetPage> {
    const qb = this.assets.createQueryBuilder('a');
    if (query.type) qb.andWhere('a.asset_type = :type', { type: query.type });
    if (query.q) {
      const like = query.q.replace(/[\\%_]/g, (c) => '\\' + c);
      qb.andWhere('(a.symbol LIKE :prefix OR lower(a.name) LIKE :contains)', {
        prefix: like.toUpperCase() + '%',
        contains: '%' + like.toLowerCase() + '%',
      });
    }
    qb.orderBy('a.symbol', 'ASC').take(query.limit).skip(query.offset);
    const [rows, total] = await qb.getManyAndCount();
    return { items: rows.map(toAssetJson), total, limit: query.limit, offset: query.offset };
  }

  async get(symbol: string): Promise<AssetJson> {
    return toAssetJson(await this.find(symbol));
  }

  /** Daily ('1d') bars of the last `days` days, oldest first. */
  async dailyHistory(symbol: string, days: number): Promise<AssetHistoryJson> {
    const asset = await this.find(symbol);
    const rows = await this.history
      .createQueryBuilder('h')
      .where('h.asset_id = :id', { id: asset.id })
      .andWhere(`h.interval = '1d'`)
      .andWhere(`h.timestamp >= now() - make_interval(days => :days)`, { days })
      .orderBy('h.timestamp', 'ASC')
      .getMany();
    return { symbol: asset.symbol, interval: '1d', days, items: rows.map(toHistoryPointJson) };
  }

  async create(dto: CreateAssetDto): Promise<AssetJson> {
    const rows = (await this.assets.query(
      `INSERT INTO assets (symbol, name, asset_type, currency, exchange, current_price, previous_close, source)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
       ON CONFLICT (symbol) DO NOTHING RETURNING id`,
      [dto.symbol, dto.name, dto.asset_type, dto.currency ?? 'USD', dto.exchange ?? null, dto.price ?? null, dto.price ? 'manual' : null],
    )) as { id: number }[];
    if (rows.length === 0) throw new ConflictException(`Asset ${dto.symbol} already exists`);
    this.catalog.invalidate();
    return this.get(dto.symbol);
  }

  private async find(raw: string): Promise<Asset> {
    const symbol = AssetCatalogService.normalise(raw);
    if (!SYMBOL_PATTERN.test(symbol)) throw new BadRequestException(`Invalid symbol "${raw.slice(0, 40)}"`);
    const asset = await this.assets.findOne({ where: { symbol } });
    if (!asset) throw new NotFoundException(`Asset ${symbol} not found`);
    return asset;
  }
}
