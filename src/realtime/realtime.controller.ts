import { Controller, Get, Req } from '@nestjs/common';
import type { Request } from 'express';
import { RealtimeInfoService, RequestView } from './realtime-info.service';

/** The guide's REST: GET /realtime/websocket-info/ and GET /realtime/status/ (with or without the trailing slash). */
@Controller('realtime')
export class RealtimeController {
  constructor(private readonly info: RealtimeInfoService) {}

  @Get('websocket-info')
  websocketInfo(@Req() req: Request) {
    return this.info.websocketInfo(view(req));
  }

  @Get('status')
  async status(@Req() req: Request) {
    return this.info.status(view(req));
  }
}

function view(req: Request): RequestView {
  const sessionUser = (req.session as { passport?: { user?: unknown } } | undefined)?.passport?.user;
  const user = req.user as { id?: unknown } | undefined;
  const userId = typeof user?.id === 'number' ? user.id : typeof sessionUser === 'number' ? sessionUser : null;
  // Express 5: req.host keeps the port and honours X-Forwarded-Host behind a trusted proxy.
  return { host: req.host || 'localhost', secure: req.secure, userId };
}
