import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * Multi-page front-end served by the Nest app under /realtime/ (src/web):
 *   web/dashboard/index.html -> /realtime/dashboard/
 *   web/test/index.html      -> /realtime/test/
 * Build: `vite build --config web/vite.config.ts` (part of `npm run build`) -> web/dist.
 * Dev:   `npx vite --config web/vite.config.ts` proxies the API to API_URL (default http://127.0.0.1:8000).
 */
const root = __dirname;
const api = process.env.API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root,
  base: '/realtime/',
  publicDir: false,
  clearScreen: false,
  logLevel: 'warn',
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
    rollupOptions: {
      input: {
        dashboard: resolve(root, 'dashboard/index.html'),
        test: resolve(root, 'test/index.html'),
      },
    },
  },
  server: {
    proxy: {
      '/api': api,
      '/auth': api,
      '/realtime/status': api,
      '/realtime/websocket-info': api,
      '/ws': { target: api, ws: true },
      '/socket.io': { target: api, ws: true },
    },
  },
});
