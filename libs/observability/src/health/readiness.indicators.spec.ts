import { HealthIndicatorService } from '@nestjs/terminus';
import { describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '@davpush/config';
import type { PushGatewayRegistry, VapidService } from '@davpush/gateways';
import { QueueName } from '@davpush/queue';
import type { MasterReplicas, RedisService } from '@davpush/storage';
import type { QueueFigures, QueuesSnapshot, QueueStatsService } from '../stats/queue-stats.service';
import type { ReplicationStatsService } from '../stats/replication-stats.service';
import { ProxyUpstreamState } from './proxy-upstream.state';
import { ReadinessIndicators, reportsCredentialState, type CredentialState } from './readiness.indicators';

const config = (env: Record<string, string> = {}): AppConfig =>
  loadConfig({ REDIS_URL: 'redis://127.0.0.1:1', DAVPUSH_DATA_DIR: '/tmp/davpush-unit', ...env });

const figures = (name: QueueName, oldestWaitingAgeMs: number | null): QueueFigures => ({
  name,
  counts: { waiting: oldestWaitingAgeMs === null ? 0 : 1, active: 0, delayed: 0, failed: 0, completed: 0 },
  oldestWaitingAgeMs,
  lastMinute: { completed: 0, failed: 0 },
});

interface Parts {
  snapshot?: () => Promise<QueuesSnapshot>;
  publicKey?: () => string;
  gateways?: Record<string, object>;
  ping?: () => Promise<void>;
  clusterState?: () => Promise<string | undefined>;
  env?: Record<string, string>;
  proxy?: ProxyUpstreamState;
  masters?: () => Promise<MasterReplicas[]>;
}

function sut(p: Parts = {}): ReadinessIndicators {
  const stats = {
    snapshot: p.snapshot ?? (async () => ({ at: 0, queues: [], errors: [] })),
  } as unknown as QueueStatsService;
  const vapid = {
    get publicKey() {
      return (p.publicKey ?? (() => 'BKey'))();
    },
  } as unknown as VapidService;
  const gateways = p.gateways ?? { 'web-push': {} };
  const registry = {
    transports: () => Object.keys(gateways),
    for: (t: string) => gateways[t],
  } as unknown as PushGatewayRegistry;
  const redis = {
    ping: p.ping ?? (async () => undefined),
    clusterState: p.clusterState ?? (async () => undefined),
  } as unknown as RedisService;
  const cfg = config(p.env);
  const replication = {
    replicated: cfg.durability.mode === 'replicated',
    masters: p.masters ?? (async () => []),
  } as unknown as ReplicationStatsService;
  return new ReadinessIndicators(
    new HealthIndicatorService(),
    cfg,
    redis,
    stats,
    vapid,
    registry,
    p.proxy ?? new ProxyUpstreamState(),
    replication,
  );
}

const snap =
  (...queues: QueueFigures[]): (() => Promise<QueuesSnapshot>) =>
  async () => ({ at: Date.now(), queues, errors: [] });

describe('ReadinessIndicators.backlog', () => {
  it.each([
    ['nothing waits', [figures(QueueName.Fanout, null)], 'up'],
    ['a young backlog', [figures(QueueName.DeliverWebPush, 59_000)], 'up'],
    ['a delivery queue past the threshold', [figures(QueueName.DeliverWebPush, 61_000)], 'degraded'],
    ['the fan-out past the threshold', [figures(QueueName.Fanout, 120_000)], 'degraded'],
    ['old dead letters (they wait on purpose)', [figures(QueueName.DeadLetter, 86_400_000)], 'up'],
    ['old maintenance jobs (not on the delivery path)', [figures(QueueName.Maintenance, 86_400_000)], 'up'],
  ])('%s → %s', async (_, queues, status) => {
    const result = await sut({ snapshot: snap(...queues) }).backlog();
    expect(result.backlog.status).toBe(status);
  });

  it('names the late queues and the threshold from DAVPUSH_READY_MAX_WAIT_AGE_MS', async () => {
    const result = await sut({
      env: { DAVPUSH_READY_MAX_WAIT_AGE_MS: '5000' },
      snapshot: snap(figures(QueueName.Fanout, 6000), figures(QueueName.DeliverFcm, 100)),
    }).backlog();
    expect(result.backlog).toMatchObject({
      status: 'degraded',
      thresholdMs: 5000,
      late: ['fanout'],
      oldestWaitingMs: { fanout: 6000, 'deliver-fcm': 100 },
    });
  });

  it('stays up (unknown) when the snapshot fails: the queues check reports that', async () => {
    const result = await sut({ snapshot: () => Promise.reject(new Error('ECONNREFUSED')) }).backlog();
    expect(result.backlog).toMatchObject({ status: 'up', unknown: 'ECONNREFUSED' });
  });
});

describe('ReadinessIndicators.queues', () => {
  it('is down naming each queue that did not answer', async () => {
    const snapshot = async (): Promise<QueuesSnapshot> => ({
      at: 0,
      queues: [figures(QueueName.Fanout, null)],
      errors: [{ name: QueueName.DeliverFcm, error: 'timeout' }],
    });
    expect((await sut({ snapshot }).queues()).queues).toEqual({
      status: 'down',
      failing: { 'deliver-fcm': 'timeout' },
    });
  });

  it('is down when the snapshot itself fails', async () => {
    expect((await sut({ snapshot: () => Promise.reject(new Error('boom')) }).queues()).queues).toEqual({
      status: 'down',
      message: 'boom',
    });
  });

  it('is up listing the queues that answered', async () => {
    expect((await sut({ snapshot: snap(figures(QueueName.Fanout, null)) }).queues()).queues).toEqual({
      status: 'up',
      answered: ['fanout'],
    });
  });
});

describe('ReadinessIndicators.redis', () => {
  it('is down when PING fails', async () => {
    const result = await sut({ ping: () => Promise.reject(new Error('ECONNREFUSED')) }).redis();
    expect(result.redis.status).toBe('down');
  });

  it('reports a Redis Cluster state, and is down unless it is ok', async () => {
    expect((await sut({ clusterState: async () => 'ok' }).redis()).redis).toEqual({ status: 'up', clusterState: 'ok' });
    expect((await sut({ clusterState: async () => 'fail' }).redis()).redis).toEqual({
      status: 'down',
      clusterState: 'fail',
    });
    expect((await sut().redis()).redis).toEqual({ status: 'up' });
  });
});

describe('ReadinessIndicators.vapid', () => {
  it('is down when no key pair is loaded (VapidService throws before onModuleInit)', () => {
    const result = sut({
      publicKey: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'publicKey')");
      },
    }).vapid();
    expect(result.vapid.status).toBe('down');
    expect(JSON.stringify(result)).not.toContain('Cannot read');
  });

  it('is up and says whether the contact is the placeholder, never the key', () => {
    const result = sut({ env: {} }).vapid();
    expect(result.vapid).toEqual({ status: 'up', subject: 'placeholder (set DAVPUSH_VAPID_SUBJECT)' });
    expect(sut({ env: { DAVPUSH_VAPID_SUBJECT: 'mailto:ops@example.org' } }).vapid().vapid).toEqual({
      status: 'up',
      subject: 'configured',
    });
  });
});

describe('ReadinessIndicators.credentials', () => {
  const fcm = (state: CredentialState) => ({ transport: 'fcm', state: () => state });

  it('checks only gateways that report credential state', () => {
    expect(sut({ gateways: { 'web-push': {} } }).credentials()).toEqual([]);
    expect(reportsCredentialState({ state: () => ({}) })).toBe(true);
    expect(reportsCredentialState({ state: 'ok' })).toBe(false);
  });

  it.each([
    ['no token fetched yet', { configured: true, projectId: 'p' }, 'up'],
    ['the last token exchange worked', { configured: true, projectId: 'p', lastTokenOk: true, lastTokenAt: 1 }, 'up'],
    [
      'the push service refused the key',
      { configured: true, projectId: 'p', lastTokenOk: false, lastError: 'invalid_grant' },
      'degraded',
    ],
    ['registered without credentials', { configured: false }, 'down'],
  ] as const)('FCM: %s → %s', (_, state, status) => {
    const [result] = sut({ gateways: { 'web-push': {}, fcm: fcm(state) } }).credentials();
    expect(result!.fcm!.status).toBe(status);
  });

  it('reports the last error of a refused key', () => {
    const [result] = sut({
      gateways: { fcm: fcm({ configured: true, lastTokenOk: false, lastError: 'invalid_grant', lastTokenAt: 0 }) },
    }).credentials();
    expect(result!.fcm).toMatchObject({ status: 'degraded', lastError: 'invalid_grant' });
  });
});

describe('ReadinessIndicators.proxy', () => {
  const proxyEnv = { DAVPUSH_PROXY_UPSTREAM: 'http://127.0.0.1:5232' };

  it('is absent without proxy mode, and in a process that does not run the proxy', () => {
    expect(sut().proxy()).toBeUndefined();
    expect(sut({ env: proxyEnv }).proxy()).toBeUndefined();
  });

  it.each([
    ['answers, account accepted', (s: ProxyUpstreamState) => (s.reachable(true), s.serviceAccount('accepted')), 'up'],
    ['answers, no account', (s: ProxyUpstreamState) => (s.reachable(true), s.serviceAccount('not-configured')), 'up'],
    ['does not answer', (s: ProxyUpstreamState) => s.reachable(false, 'ECONNREFUSED'), 'degraded'],
    ['account refused', (s: ProxyUpstreamState) => (s.reachable(true), s.serviceAccount('refused', 401)), 'degraded'],
    [
      'no account, the server wants one',
      (s: ProxyUpstreamState) => (s.reachable(true), s.serviceAccount('missing', 401)),
      'degraded',
    ],
    [
      'account cannot read',
      (s: ProxyUpstreamState) => (s.reachable(true), s.serviceAccount('cannot-read', 403)),
      'degraded',
    ],
  ])('%s → %s', (_what, set, status) => {
    const state = new ProxyUpstreamState();
    set(state);
    const result = sut({ env: proxyEnv, proxy: state }).proxy()!;
    expect(result.proxyUpstream!.status).toBe(status);
  });

  it('names the variables and the status when the account is refused', () => {
    const state = new ProxyUpstreamState();
    state.serviceAccount('refused', 401);
    const r = sut({ env: proxyEnv, proxy: state }).proxy()!.proxyUpstream!;
    expect(r).toMatchObject({ serviceAccount: 'refused (401)' });
    expect(String(r.message)).toContain('DAVPUSH_PROXY_SERVICE_PASSWORD');
  });

  it('reports the flip back to reachable once', () => {
    const state = new ProxyUpstreamState();
    expect(state.reachable(true)).toBe(false);
    expect(state.reachable(false, 'ECONNREFUSED')).toBe(false);
    expect(state.reachable(true)).toBe(true);
    expect(state.reachable(true)).toBe(false);
  });
});

describe('ReadinessIndicators.durability', () => {
  const replicated = { DAVPUSH_DURABILITY: 'replicated' };

  it('is not checked under DAVPUSH_DURABILITY=local', () => {
    expect(sut().durable).toBe(false);
    expect(sut({ env: replicated }).durable).toBe(true);
  });

  it.each([
    [
      'every master has a replica',
      [
        { master: 'a:1', online: 2 },
        { master: 'b:1', online: 1 },
      ],
      'up',
      undefined,
    ],
    [
      'one master has none',
      [
        { master: 'a:1', online: 2 },
        { master: 'b:1', online: 0 },
      ],
      'down',
      ['b:1'],
    ],
  ])('%s → %s', async (_, masters, status, lacking) => {
    const result = await sut({ env: replicated, masters: async () => masters }).durability();
    expect(result.durability).toMatchObject({
      status,
      mode: 'replicated',
      replicasOnline: Object.fromEntries(masters.map((m) => [m.master, m.online])),
    });
    expect(result.durability!['mastersWithoutReplica']).toEqual(lacking);
  });

  it('is down when a master does not answer', async () => {
    const result = await sut({
      env: replicated,
      masters: () => Promise.reject(new Error('ECONNREFUSED')),
    }).durability();
    expect(result.durability).toEqual({ status: 'down', mode: 'replicated', message: 'ECONNREFUSED' });
  });
});
