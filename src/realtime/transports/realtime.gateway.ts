import { OnGatewayConnection, OnGatewayDisconnect, OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { SOCKET_IO_NAMESPACE, SOCKET_IO_PATH } from '../hub/outbound-frame';
import { SocketIoTransport } from './socketio.transport';

/**
 * Socket.IO gateway: namespace `/realtime`, path `/socket.io`. Thin: every
 * event goes through SocketIoTransport to the hub's router (one validation
 * path for both transports). Server options that depend on settings
 * (limits, heartbeat, Origin check) are added by RealtimeIoAdapter.
 */
@WebSocketGateway({
  namespace: SOCKET_IO_NAMESPACE,
  path: SOCKET_IO_PATH,
  serveClient: false,
  perMessageDeflate: false,
  httpCompression: false,
  // Leave upgrades for other paths (/ws/realtime/) alone.
  destroyUpgrade: false,
})
export class RealtimeGateway implements OnGatewayInit<Namespace>, OnGatewayConnection<Socket>, OnGatewayDisconnect<Socket> {
  constructor(private readonly transport: SocketIoTransport) {}

  afterInit(nsp: Namespace): void {
    this.transport.bind(nsp);
  }

  handleConnection(socket: Socket): void {
    this.transport.accept(socket);
  }

  handleDisconnect(socket: Socket): void {
    this.transport.closed(socket);
  }
}
