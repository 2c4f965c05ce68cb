import { describe, expect, it } from 'vitest';
import { ProxyUpstreamState } from '@davpush/observability';
import type { OutOfBandChanges } from '../changes/out-of-band.service';
import type { ProxyIdentity } from '../identity/proxy-identity.service';
import type { UpstreamClient } from './upstream.client';
import { UpstreamMonitor } from './upstream.monitor';

/** The DAV server's answer to the service-account check, and the catch-up checks asked for. */
function sut(opts: { status: number; service?: string }) {
  const scheduled: string[] = [];
  const upstream = {
    rootPath: '',
    id: 'http://dav',
    collectionState: async () => ({ status: opts.status }),
  } as unknown as UpstreamClient;
  const identity = { serviceAuthorization: () => opts.service } as unknown as ProxyIdentity;
  const outOfBand = {
    schedule: (_ms: number, source: string) => scheduled.push(source),
  } as unknown as OutOfBandChanges;
  const state = new ProxyUpstreamState();
  return { monitor: new UpstreamMonitor(upstream, identity, state, outOfBand), state, scheduled };
}

describe('UpstreamMonitor', () => {
  it('stops start-up when the service account is refused, naming the variables', async () => {
    const { monitor, state } = sut({ status: 401, service: 'Basic x' });
    await expect(monitor.checkAtStart()).rejects.toThrow(
      /^DAVPUSH_PROXY_SERVICE_USER\/DAVPUSH_PROXY_SERVICE_PASSWORD: .*refused the service account \(401\)/,
    );
    expect(state.snapshot().serviceAccount).toBe('refused');
  });

  it.each([
    [207, 'Basic x', 'accepted'],
    [403, 'Basic x', 'accepted'],
    [207, undefined, 'not-configured'],
    [401, undefined, 'missing'],
  ] as const)('a %s with %s at start → %s', async (status, service, expected) => {
    const { monitor, state } = sut({ status, service });
    await monitor.checkAtStart();
    expect(state.snapshot().serviceAccount).toBe(expected);
  });

  it('a catch-up at start, and again only when the server answers after not answering', async () => {
    const { monitor, scheduled } = sut({ status: 207, service: 'Basic x' });
    await monitor.checkAtStart();
    monitor.watch();
    monitor.onApplicationShutdown();
    expect(scheduled).toEqual(['catch-up']);
    monitor.answered();
    expect(scheduled).toEqual(['catch-up']);
    monitor.unreachable('ECONNREFUSED');
    monitor.unreachable('ECONNREFUSED');
    monitor.answered();
    monitor.answered();
    expect(scheduled).toEqual(['catch-up', 'catch-up']);
  });
});
