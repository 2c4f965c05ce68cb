import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    globals: false,
    pool: 'forks',
    globalSetup: ['./test/support/global-setup.ts'],
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'apps/**/*.int-spec.ts', 'libs/**/*.int-spec.ts', 'test/**/*.e2e-spec.ts', 'test/**/*.int-spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
