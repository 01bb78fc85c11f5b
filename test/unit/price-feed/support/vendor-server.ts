import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'vendors');

/** A recorded vendor answer. */
export interface Answer {
  status?: number;
  /** Fixture path under test/fixtures/vendors, or a literal body. */
  fixture?: string;
  body?: string;
  contentType?: string;
  /** Answer after this many ms (to exercise timeouts); the socket stays open meanwhile. */
  delayMs?: number;
}

export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), 'utf8');
}

type Route = (url: URL, req: IncomingMessage) => Answer | undefined;

/**
 * A local node:http server on 127.0.0.1 standing in for a market-data vendor:
 * it answers with recorded responses in the vendor's own format. Routes are
 * matched by path (first registered wins); every request is recorded.
 */
export class VendorServer {
  private server?: Server;
  readonly requests: { path: string; url: URL; headers: IncomingMessage['headers'] }[] = [];
  private routes: { prefix: string; route: Route }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers requests whose path starts with `prefix` (replaces an earlier route for the same prefix). */
  on(prefix: string, route: Route | Answer): this {
    this.routes = this.routes.filter((r) => r.prefix !== prefix);
    this.routes.push({ prefix, route: typeof route === 'function' ? route : () => route });
    return this;
  }

  count(prefix: string): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  reset(): void {
    this.requests.length = 0;
    this.routes = [];
    this.maxInFlight = 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ path: url.pathname, url, headers: req.headers });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const match = this.routes.find((r) => url.pathname.startsWith(r.prefix));
      const a = match?.route(url, req) ?? { status: 404, body: '{"error":"no route in test server"}' };
      if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
      if (res.destroyed) return;
      const body = a.fixture ? fixture(a.fixture) : (a.body ?? '');
      const type =
        a.contentType ?? (a.fixture?.endsWith('.html') ? 'text/html; charset=utf-8' : a.fixture?.endsWith('.txt') ? 'text/plain' : 'application/json');
      res.writeHead(a.status ?? 200, { 'content-type': type });
      res.end(body);
    } finally {
      this.inFlight--;
    }
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
