import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where `vite build --config web/vite.config.ts` writes the pages (same depth from src/web and dist/web). */
export const WEB_DIST_DIR = resolve(__dirname, '..', '..', 'web', 'dist');

/** The pages and where they are served; B's REST routes (/realtime/status/, /realtime/websocket-info/) stay untouched. */
export const WEB_PAGES = [
  { mount: '/realtime/dashboard', dir: 'dashboard' },
  { mount: '/realtime/test', dir: 'test' },
] as const;
export const WEB_ASSETS_MOUNT = '/realtime/assets';

/**
 * Serves the built front-end (web/dist) under /realtime/: the two pages and
 * their hashed bundles. Mounted on exact prefixes only, after Nest's routes
 * and before its 404 handler, so no API route is shadowed.
 */
@Injectable()
export class WebStaticService implements OnModuleInit {
  private readonly logger = new Logger('Web');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter.getInstance<Express>();
    if (!existsSync(join(WEB_DIST_DIR, 'dashboard', 'index.html'))) {
      this.logger.warn(`Front-end not built yet (${WEB_DIST_DIR}): run "npm run build" to serve /realtime/dashboard/ and /realtime/test/`);
    }

    // /realtime and /realtime/ lead to the dashboard.
    app.get(['/', '/realtime', '/realtime/'], (_req: Request, res: Response) => res.redirect(302, '/realtime/dashboard/'));

    // Always mounted (a build that lands after boot is served at once); while
    // a page is missing its prefix answers 503 with how to build it.
    for (const page of WEB_PAGES) {
      const dir = join(WEB_DIST_DIR, page.dir);
      app.use(
        page.mount,
        express.static(dir, {
          index: 'index.html',
          redirect: true,
          fallthrough: true,
          // The HTML names hashed bundles: always revalidate it.
          setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
        }),
        notBuilt(join(dir, 'index.html')),
      );
    }
    app.use(
      WEB_ASSETS_MOUNT,
      express.static(join(WEB_DIST_DIR, 'assets'), { index: false, redirect: false, fallthrough: true, immutable: true, maxAge: '365d' }),
    );
  }
}

function notBuilt(indexFile: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || existsSync(indexFile)) return next();
    res.status(503).type('text/plain').send('The web front-end is not built. Run "npm run build" (nest build && vite build --config web/vite.config.ts).\n');
  };
}
