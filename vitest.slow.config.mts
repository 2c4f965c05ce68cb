import { defineConfig } from 'vitest/config';
import base from './vitest.config.mjs';

/**
 * `npm run test:slow`: suites that take more than half a minute each (a master killed in the middle
 * of a fan-out to 2,000 registrations), kept out of `npm test`; `.ci/run` runs them after it.
 * The base config with its file list replaced (vitest's mergeConfig would add to it).
 */
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/**/*.slow-spec.ts'],
    testTimeout: 120_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-slow.json' }]],
  },
});
