import { defineConfig } from 'vitest/config';
import { ensureTestCa } from './test/support/test-ca';

// Outbound TLS in tests goes to local fake push services signed by a throw-away CA. Node reads
// NODE_EXTRA_CA_CERTS only at process start, so it is set here, before Vitest forks its workers.
process.env.NODE_EXTRA_CA_CERTS = ensureTestCa().caCertPath;

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    globals: false,
    pool: 'forks',
    include: ['apps/**/*.spec.ts', 'libs/**/*.spec.ts', 'apps/**/*.int-spec.ts', 'libs/**/*.int-spec.ts', 'test/**/*.e2e-spec.ts', 'test/**/*.spec.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
