import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Tests that need the machine itself (test/system): root, Debian's nginx, the npm registry.
// The fresh-machine install tests clone, install and create a user; the nginx tests run
// Debian's nginx. Run by .ci/run (npm run test:system), one at a time, outside `npm test`.
export default defineConfig({
  plugins: [
    swc.vite({
      module: { type: 'es6' },
      jsc: { target: 'es2022', keepClassNames: true, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false } },
    }),
  ],
  test: {
    name: 'system',
    include: ['test/system/**/*.system-spec.ts'],
    // PostgreSQL and Redis for the tests that need them (the same resolution as npm test).
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
