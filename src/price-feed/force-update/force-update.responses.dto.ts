import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import type { ForceUpdateItem, ForceUpdateResponse, ForceUpdateStatus } from '../../common/api-types';
import { ApiDateTime, enumOf } from '../../common/openapi';
import type { AssertTrue, StrictSame } from '../../common/type-checks';

const FORCE_UPDATE_STATUSES = enumOf<ForceUpdateStatus>({ updated: true, unchanged: true, unknown: true, rejected: true, unavailable: true, failed: true });

/** OpenAPI schema of ForceUpdateItem (src/common/api-types.ts). */
@ApiSchema({ name: 'ForceUpdateItem', description: 'One symbol’s outcome. Prices here are JSON numbers, like the socket messages.' })
export class ForceUpdateItemDto implements ForceUpdateItem {
  @ApiProperty({ example: 'AAPL' })
  symbol: string;

  @ApiProperty({
    enum: FORCE_UPDATE_STATUSES,
    example: 'updated',
    description:
      '`updated`: a new price was stored; `unchanged`: same price as before; `unknown`: not a tracked symbol; `rejected`: the quote failed validation (`reason`); `unavailable` / `failed`: no provider could price it (the last price is kept).',
  })
  status: ForceUpdateStatus;

  @ApiPropertyOptional({ type: 'number', example: 229.84 })
  price?: number;

  @ApiPropertyOptional({ type: 'number', nullable: true, example: 229.91 })
  previous_close?: number | null;

  @ApiPropertyOptional({ type: 'number', nullable: true, example: -0.07 })
  change?: number | null;

  @ApiPropertyOptional({ type: 'number', nullable: true, example: -0.0304 })
  change_percent?: number | null;

  @ApiPropertyOptional({ type: 'string', nullable: true, example: 'simulated' })
  source?: string | null;

  @ApiPropertyOptional({ description: 'Why the quote was rejected (status `rejected`).' })
  reason?: string;

  @ApiPropertyOptional({ example: 'Unknown symbol' })
  message?: string;
}

@ApiSchema({ name: 'ForceUpdateResult' })
export class ForceUpdateResponseDto implements ForceUpdateResponse {
  @ApiProperty({ type: () => ForceUpdateItemDto, isArray: true })
  results: ForceUpdateItemDto[];

  @ApiProperty({ type: 'integer', example: 1, description: 'How many symbols got a new price.' })
  updated: number;

  @ApiDateTime()
  timestamp: string;
}

export type _ForceUpdateDtosFit = [
  AssertTrue<StrictSame<ForceUpdateItem, ForceUpdateItemDto>>,
  AssertTrue<StrictSame<ForceUpdateResponse, ForceUpdateResponseDto>>,
];
