import { beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster } from '../support/redis-cluster';
import { eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

/**
 * A Redis Cluster that cannot serve every slot (a master and its replica crashed: with the default
 * `cluster-require-full-coverage yes` every node answers `CLUSTERDOWN`) must turn requests into 503 +
 * Retry-After, not 500, and readiness must say why (`cluster_state`).
 */
describe('a Redis Cluster that is down', () => {
  const w = useClusterWorld();
  let cluster: RedisCluster;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  beforeAll(() => {
    ({ cluster, h, push, apiKey } = w);
  });

  it('answers 503 with Retry-After while CLUSTERDOWN, readiness reports cluster_state, and recovers', async () => {
    const { client: c } = await w.registerJson('down-1');
    const ready = await h.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { details: { redis: object } }).details.redis).toEqual({
      status: 'up',
      clusterState: 'ok',
    });

    // Crash a master that does not hold davpush's own keys, and its replica: its slots are lost.
    const ours = await cluster.ownersOf('{davpush}');
    const other = cluster.nodes.find(
      (n) => n.port !== ours.master.port && !ours.replicas.some((r) => r.port === n.port),
    )!;
    const victim = (await cluster.cli(other, 'ROLE')).startsWith('master')
      ? await ownersOfNode(other)
      : await ownersOfNode(await masterOf(other));
    for (const n of victim) await cluster.killNode(n);
    await eventually(
      async () => /cluster_state:fail/.test(await cluster.cli(ours.master, 'CLUSTER', 'INFO')),
      20_000,
      'cluster_state:fail',
    );

    const ev = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'down-1', changes: ['content'] },
    });
    expect(ev.status).toBe(503);
    expect(Number(ev.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(ev.headers.get('content-type')).toMatch(/problem\+json/);
    const notReady = await h.request('GET', '/health/ready');
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { details: { redis: object } };
    expect(body.details.redis).toEqual({ status: 'down', clusterState: 'fail' });

    // The crashed nodes come back with their data: the cluster and davpush recover without a restart.
    for (const n of victim) await cluster.restartNode(n);
    await cluster.waitUntilOk();
    await eventually(async () => (await h.request('GET', '/health/ready')).status === 200, 20_000, 'ready again');
    const after = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'down-1', changes: ['content'], syncToken: 'back' },
    });
    expect(after.status).toBe(202);
    await push.waitFor({ id: push.idOf(c), count: 1 }, 10_000);

    async function masterOf(replica: { host: string; port: number }) {
      const role = (await cluster.cli(replica, 'ROLE')).split('\n');
      return { host: '127.0.0.1', port: Number(role[2]) };
    }
    async function ownersOfNode(master: { host: string; port: number }) {
      const id = (await cluster.cli(master, 'CLUSTER', 'MYID')).trim();
      const lines = (await cluster.cli(master, 'CLUSTER', 'NODES'))
        .trim()
        .split('\n')
        .map((l) => l.split(' '));
      const replicas = lines
        .filter((f) => f[3] === id)
        .map((f) => ({ host: '127.0.0.1', port: Number(f[1]!.split(':')[1]!.split('@')[0]) }));
      return [master, ...replicas];
    }
  }, 60_000);
});
