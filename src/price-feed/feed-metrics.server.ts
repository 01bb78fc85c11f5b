import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import { RedisLinkState } from '../bus/redis-link';
import { AppConfig } from '../config/app-config';
import { StartupError } from '../common/startup-error';
import { bearerTokenMatches, collectProcessMetrics, METRICS_CONTENT_TYPE, scrapeMetrics } from '../health/metrics-exposition';

/**
 * The separate price-feed process has no HTTP server; with FEED_METRICS_PORT set, this serves its
 * Prometheus metrics (the same default registry as the API's GET /metrics: process metrics, the
 * feed's counters and breaker states, the dependency gauges) on HOST:FEED_METRICS_PORT, GET /metrics
 * only, behind METRICS_TOKEN like the API. Unset: nothing listens.
 */
@Injectable()
export class FeedMetricsServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('FeedMetrics');
  private server: Server | null = null;

  constructor(
    private readonly config: AppConfig,
    @InjectDataSource() private readonly db: DataSource,
    private readonly redis: RedisLinkState,
  ) {}

  /** The port it listens on (null when off). */
  get port(): number | null {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.FEED_METRICS_PORT;
    if (port === undefined) return;
    collectProcessMetrics();
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new StartupError(
            `FEED_METRICS_PORT=${port}: cannot listen on ${this.config.HOST}:${port} (${err.code ?? err.message}); ` +
              'choose a free port, or unset FEED_METRICS_PORT to serve no metrics.',
          ),
        ),
      );
      server.listen(port, this.config.HOST, () => resolve());
    });
    server.on('error', (err) => this.logger.warn(`Metrics listener: ${err.message}`));
    this.server = server;
    this.logger.log(`Serving Prometheus metrics on http://${this.config.HOST}:${port}/metrics${this.config.METRICS_TOKEN ? ' (bearer token required)' : ''}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return this.send(res, 404, { statusCode: 404, error: 'NOT_FOUND', message: 'Only GET /metrics is served here' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.send(res, 405, { statusCode: 405, error: 'METHOD_NOT_ALLOWED', message: 'GET /metrics' });
    }
    const token = this.config.METRICS_TOKEN;
    if (token && !bearerTokenMatches(req.headers.authorization, token)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      return this.send(res, 401, { statusCode: 401, error: 'UNAUTHORIZED', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' });
    }
    try {
      const body = await scrapeMetrics({ database: this.db, redis: this.redis });
      res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      this.logger.warn(`Metrics scrape failed: ${(err as Error).message}`);
      this.send(res, 500, { statusCode: 500, error: 'INTERNAL', message: 'Metrics collection failed' });
    }
  }

  private send(res: ServerResponse, status: number, body: object): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }
}
