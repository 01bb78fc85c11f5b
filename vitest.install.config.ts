import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The fresh-machine install tests (test/install): run by .ci/run as root, one at a time,
// outside `npm test` (they clone, install from the registry and create a user).
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022', keepClassNames: true, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false } } })],
  test: {
    name: 'install',
    include: ['test/install/**/*.install-spec.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
