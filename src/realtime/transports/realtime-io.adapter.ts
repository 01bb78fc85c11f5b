import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { AppConfig } from '../../config/app-config';
import { SocketIoTransport } from './socketio.transport';

type IoServerOptions = NonNullable<Parameters<IoAdapter['createIOServer']>[1]>;

/**
 * Nest's Socket.IO adapter with the settings-driven server options: payload
 * limit, Engine.IO heartbeat from HEARTBEAT_INTERVAL / WEBSOCKET_TIMEOUT, the
 * Origin check (allowRequest) and CORS for long-polling.
 * Installed by configureApp (src/app.setup.ts).
 */
export class RealtimeIoAdapter extends IoAdapter {
  constructor(private readonly appContext: INestApplicationContext) {
    super(appContext);
  }

  // Typed through IoAdapter: @nestjs/platform-socket.io pins its own socket.io copy.
  override createIOServer(port: number, options?: IoServerOptions): ReturnType<IoAdapter['createIOServer']> {
    const config = this.appContext.get(AppConfig);
    const transport = this.appContext.get(SocketIoTransport, { strict: false });
    return super.createIOServer(port, {
      ...options,
      maxHttpBufferSize: config.WS_MAX_PAYLOAD,
      pingInterval: config.HEARTBEAT_INTERVAL * 1000,
      pingTimeout: config.WEBSOCKET_TIMEOUT * 1000,
      allowRequest: transport.allowRequest,
      cors: { origin: transport.corsOrigin, credentials: true },
      destroyUpgrade: false,
    } as IoServerOptions);
  }
}
