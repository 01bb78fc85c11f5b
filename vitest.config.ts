import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC compiles the TypeScript so Nest's decorator metadata (emitDecoratorMetadata) is present.
const plugins = [
  swc.vite({
    module: { type: 'es6' },
    jsc: { target: 'es2022', keepClassNames: true, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false } },
  }),
];

export default defineConfig({
  plugins,
  test: {
    globals: false,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    maxWorkers: 2,
    projects: [
      { plugins, extends: true, test: { name: 'unit', include: ['src/**/*.spec.ts', 'test/unit/**/*.spec.ts'] } },
      { plugins, extends: true, test: { name: 'e2e', include: ['test/**/*.e2e-spec.ts'] } },
      // Browser scenarios are long multi-step flows (each wait inside is bounded on its own).
      { plugins, extends: true, test: { name: 'browser', include: ['test/browser/**/*.browser-spec.ts'], maxWorkers: 1, testTimeout: 90_000 } },
    ],
  },
});
