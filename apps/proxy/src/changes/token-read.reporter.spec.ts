import { Logger } from '@nestjs/common';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProxyUpstreamState, PushMetrics } from '@davpush/observability';
import { TokenReadReporter, failureReason } from './token-read.reporter';

const count = async (m: PushMetrics, source: string, reason: string) =>
  (await m.proxyTokenReadFailures.get()).values.find((v) => v.labels.source === source && v.labels.reason === reason)
    ?.value;

describe('TokenReadReporter', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    [undefined, 'unreachable'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not-found'],
    [500, 'other-status'],
  ] as const)('%s → %s', (status, reason) => {
    expect(failureReason(status)).toBe(reason);
  });

  it('counts every failure, warns once a minute per source and reason, and tells readiness about the account', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const metrics = new PushMetrics();
    const state = new ProxyUpstreamState();
    const sut = new TokenReadReporter(metrics, state);
    expect(await count(metrics, 'hook', 'unauthorized')).toBe(0);

    const refused = { source: 'hook', status: 401, service: true, serviceConfigured: true } as const;
    sut.failed(refused, 1000);
    sut.failed(refused, 2000);
    sut.failed(refused, 3000);
    sut.failed({ ...refused, source: 'poller' }, 3000);
    expect(await count(metrics, 'hook', 'unauthorized')).toBe(3);
    expect(warn).toHaveBeenCalledTimes(2);
    expect(warn.mock.calls[0]![0]).toMatchObject({
      msg: 'sync-token read failed; change not pushed',
      source: 'hook',
      reason: 'unauthorized',
      status: 401,
    });
    expect(String((warn.mock.calls[0]![0] as { hint: string }).hint)).toContain('DAVPUSH_PROXY_SERVICE_PASSWORD');
    expect(state.snapshot()).toMatchObject({ serviceAccount: 'refused', serviceStatus: 401 });

    sut.failed(refused, 62_000);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn.mock.calls[2]![0]).toMatchObject({ sinceLastWarning: 2 });

    sut.succeeded(true);
    expect(state.snapshot().serviceAccount).toBe('accepted');
    sut.failed({ source: 'write', code: 'ECONNREFUSED', service: false, serviceConfigured: true }, 70_000);
    expect(state.snapshot()).toMatchObject({ reachable: false, lastError: 'ECONNREFUSED' });
  });
});
