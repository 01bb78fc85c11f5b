import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a server (PostgreSQL in the probe tests) that can fail
 * the two ways a database goes away:
 *
 * - `freeze()`: a frozen server or a black-holed network. Sockets stay open and new ones are
 *   accepted, but nothing is forwarded either way (bytes and closes are held back) until
 *   `thaw()` delivers what was held, in order.
 * - `cut()`: the server is gone. Every open connection is reset and new ones are closed at
 *   once (the client sees ECONNRESET / "Connection terminated"), until `restore()`.
 *
 * Used by the database-stall and probe tests.
 */
export class TcpProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Held while frozen, per destination, in order: chunks, or null for "the other side ended". */
  private readonly held = new Map<Socket, (Buffer | null)[]>();
  private frozen = false;
  private refusing = false;
  port = 0;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  /** `url` (postgres://…, redis://…) with its host and port replaced by the proxy's. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Delivers everything held back, in order, and forwards again. */
  thaw(): void {
    this.frozen = false;
    for (const [to, queue] of [...this.held]) {
      this.held.delete(to);
      for (const item of queue) {
        if (item === null) to.end();
        else if (!to.destroyed) to.write(item);
      }
    }
  }

  /** Resets every connection and refuses new ones (closed as soon as accepted). */
  cut(): void {
    this.refusing = true;
    this.held.clear();
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** Accepts and forwards connections again. */
  restore(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => this.sockets.delete(s));
    }
    this.forward(client, upstream);
    this.forward(upstream, client);
  }

  private forward(from: Socket, to: Socket): void {
    const pass = (item: Buffer | null) => {
      if (this.frozen || this.held.has(to)) {
        const q = this.held.get(to) ?? [];
        q.push(item);
        this.held.set(to, q);
        return;
      }
      if (item === null) to.end();
      else if (!to.destroyed) to.write(item);
    };
    from.on('data', (chunk: Buffer) => pass(chunk));
    from.once('end', () => pass(null));
    from.once('close', () => pass(null));
  }
}
