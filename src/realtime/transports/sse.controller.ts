import { Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCookieAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiQuery,
  ApiSchema,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrors, SESSION_SECURITY } from '../../common/openapi';
import { SSE_TOKEN_HEADER, SseTransport } from './sse.transport';

@ApiSchema({ name: 'SseMessageAccepted', description: 'The message was queued for its stream; its reply (or error) comes on the stream, with its `id`.' })
export class SseMessageAcceptedDto {
  @ApiProperty({ enum: ['accepted'], example: 'accepted' }) status: 'accepted';
}

/**
 * The Server-Sent Events fallback of the realtime protocol (docs/protocol.md, "SSE fallback"):
 * `GET /realtime/sse` streams, `POST /realtime/sse/{connection_id}/messages` takes a stream's
 * client messages. Thin: SseTransport does the work.
 */
@ApiTags('realtime')
@Controller('realtime/sse')
export class SseController {
  constructor(private readonly sse: SseTransport) {}

  @Get()
  @ApiOperation({
    summary: 'Live prices and portfolios as Server-Sent Events (fallback when WebSocket is blocked)',
    description: [
      'A `text/event-stream`: `retry: 3000`, then one event per server message of the realtime protocol (`event: <type>`, `data: <envelope JSON>`), ',
      'first `connection` (with `sse_token`), one `subscribed` for the query’s topics, their snapshots, then live updates; a `: keep-alive` comment every heartbeat. ',
      'Every `asset_update` has `id: SYMBOL:seq,...` (the last seq sent per symbol): reconnecting with it as `Last-Event-ID` (or `?last_event_id=`) replays what was missed. ',
      'Client messages: POST /realtime/sse/{connection_id}/messages. Portfolios need the session cookie and ownership.',
    ].join(''),
  })
  @ApiQuery({ name: 'symbols', required: false, description: 'Comma-separated symbols (at most 100), e.g. `AAPL,MSFT`', example: 'AAPL,MSFT' })
  @ApiQuery({ name: 'portfolios', required: false, description: 'Comma-separated portfolio ids (logged in, your own)', example: '3' })
  @ApiQuery({ name: 'last_event_id', required: false, description: 'The last event id received, for clients that cannot set `Last-Event-ID`' })
  @ApiQuery({ name: 'batch', required: false, description: 'Batched `asset_updates` events: 0, or 10-1000 ms (`50ms`)' })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'Resume: the `id` of the last `asset_update` received (`AAPL:123,MSFT:456`); invalid: ignored',
  })
  @ApiCookieAuth(SESSION_SECURITY)
  @ApiOkResponse({ description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiErrors(
    [400, 'Invalid query, unknown symbols (`details.symbols`), or more topics than MAX_SUBSCRIPTIONS_PER_CONNECTION'],
    [401, 'Portfolios asked without a logged-in session'],
    [403, 'Origin not allowed'],
    [404, 'A portfolio that does not exist or is not yours'],
    [429, 'Over MAX_CONNECTIONS_PER_USER (`details.code`: CONNECTION_LIMIT)'],
  )
  stream(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.sse.open(req, res);
  }

  @Post(':connection_id/messages')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Sends one client message on an SSE stream',
    description:
      'The body is one client envelope of the realtime protocol (`{"type": "subscribe_asset", "data": {...}, "id": 1}`), as `text/plain` or `application/json`, validated exactly like a WebSocket frame. Its reply, or its error, arrives on the stream with the same `id`. A stream of another instance answers 404: open a new stream.',
  })
  @ApiParam({ name: 'connection_id', description: 'The `connection_id` of the stream’s `connection` event' })
  @ApiHeader({ name: 'X-SSE-Token', required: true, description: 'The `sse_token` of the stream’s `connection` event' })
  @ApiBody({ description: 'One client envelope', schema: { type: 'object', required: ['type'], additionalProperties: true } })
  @ApiAcceptedResponse({ type: SseMessageAcceptedDto })
  @ApiErrors([403, 'Wrong or missing X-SSE-Token'], [404, 'No such stream on this instance'], [413, 'Message larger than WS_MAX_PAYLOAD bytes'])
  async message(
    @Param('connection_id') connectionId: string,
    @Headers(SSE_TOKEN_HEADER) token: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SseMessageAcceptedDto> {
    await this.sse.receive(connectionId, token, req, res);
    return { status: 'accepted' };
  }
}
