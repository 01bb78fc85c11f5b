import type { Server as IoServer } from 'socket.io';
import type { Connection } from '../hub/connection';

/**
 * What the realtime gateway is bound to (RealtimeWsAdapter.create): the two endpoints on the
 * app's HTTP server, the raw WebSocket one and the Socket.IO server. Each transport reports
 * every connection it accepted here, and it is handed to Nest as the gateway's new client.
 */
export class RealtimeServer {
  /** The Socket.IO server (set once created). */
  io: IoServer | null = null;
  private onConnection: ((conn: Connection) => void) | null = null;

  /** Nest's connection callback (binds the gateway's handlers to the client). */
  bind(callback: (conn: Connection) => void): void {
    this.onConnection = callback;
  }

  /** A transport accepted `conn` (the hub registered it): the gateway now handles its messages. */
  connected(conn: Connection): void {
    this.onConnection?.(conn);
  }

  /** Closes the Socket.IO server, which also closes the HTTP server (as Nest's IoAdapter did). */
  async close(): Promise<void> {
    await this.io?.close();
  }
}
