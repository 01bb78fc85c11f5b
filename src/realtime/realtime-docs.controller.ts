import { Controller, Get, Header, Req } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { packageVersion } from '../common/package-version';
import { AppConfig } from '../config/app-config';
import { ASYNCAPI_VERSION, buildAsyncApiDocument } from './asyncapi.document';
import { RealtimeHub } from './hub/realtime-hub.service';

/**
 * GET /realtime/asyncapi.json: the AsyncAPI document of the WebSocket / Socket.IO
 * protocol, built per request (its server URLs use the host the client used,
 * like /realtime/websocket-info/) from the server's own message map and schemas.
 */
@ApiTags('realtime')
@Controller('realtime')
export class RealtimeDocsController {
  constructor(
    private readonly config: AppConfig,
    private readonly hub: RealtimeHub,
  ) {}

  @Get('asyncapi.json')
  @Header('Cache-Control', 'no-cache')
  @ApiOperation({
    summary: 'AsyncAPI document of the realtime protocol',
    description: `AsyncAPI ${ASYNCAPI_VERSION}: both transports (raw WebSocket /ws/realtime/, Socket.IO namespace /realtime), every client and server message with its JSON schema, the error codes. Server URLs use the request's host.`,
  })
  @ApiProduces('application/json')
  @ApiOkResponse({
    description: `An AsyncAPI ${ASYNCAPI_VERSION} document`,
    schema: {
      type: 'object',
      required: ['asyncapi', 'info', 'channels'],
      properties: { asyncapi: { type: 'string', example: ASYNCAPI_VERSION } },
      additionalProperties: true,
    },
  })
  asyncApi(@Req() req: Request): Record<string, unknown> {
    return buildAsyncApiDocument({
      // Express 5: req.host keeps the port and honours X-Forwarded-Host behind a trusted proxy.
      host: req.host || 'localhost',
      secure: req.secure,
      version: packageVersion(),
      limits: this.hub.limits,
      heartbeatInterval: this.config.HEARTBEAT_INTERVAL,
      connectionTimeout: this.config.WEBSOCKET_TIMEOUT,
    });
  }
}
