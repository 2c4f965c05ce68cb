import { ensureTestCa } from './test-ca';

/**
 * Runs in Vitest's main process before any worker forks. Outbound TLS in tests goes to local fake
 * push services signed by a throw-away CA; Node reads NODE_EXTRA_CA_CERTS only at process start,
 * so it is set here, where every forked worker inherits it.
 */
export function setup(): void {
  process.env.NODE_EXTRA_CA_CERTS = ensureTestCa().caCertPath;
}
