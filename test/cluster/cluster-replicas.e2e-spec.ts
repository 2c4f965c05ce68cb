import { beforeAll, describe, expect, it } from 'vitest';
import { RedisCluster } from '../support/redis-cluster';
import { eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

interface Durability {
  status: string;
  mastersWithoutReplica?: string[];
  replicasOnline: Record<string, number>;
}

/**
 * DAVPUSH_DURABILITY=replicated on a Redis Cluster (docs/durability.md): every accepted write waits
 * for a replica of every master, so a master whose replicas are gone blocks every event. Readiness
 * (`durability`) and the gauge `davpush_redis_replicas_online` must say so, naming the master.
 */
describe('a Redis Cluster master without a replica under DAVPUSH_DURABILITY=replicated', () => {
  const w = useClusterWorld({ DAVPUSH_DURABILITY: 'replicated' });
  let cluster: RedisCluster;
  let h: Harness;
  beforeAll(() => {
    ({ cluster, h } = w);
  });

  const readiness = async () => {
    const res = await h.request('GET', '/health/ready');
    return {
      status: res.status,
      durability: ((await res.json()) as { details: { durability: Durability } }).details.durability,
    };
  };

  it('reports durability down naming the master, the gauge at 0, events 503, and recovers when the replica is back', async () => {
    await w.registerJson('replicas-1');
    const before = await readiness();
    expect(before.status).toBe(200);
    expect(Object.values(before.durability.replicasOnline)).toEqual([1, 1, 1]);

    // The master holding the topic's data loses its only replica.
    const { master, replicas } = await cluster.ownersOf('{davpush}');
    const name = `${master.host}:${master.port}`;
    for (const r of replicas) await cluster.killNode(r);
    const down = await eventually(
      async () => {
        const r = await readiness();
        return r.status === 503 && r;
      },
      10_000,
      'readiness 503',
    );
    expect(down.durability).toMatchObject({ status: 'down', mode: 'replicated', mastersWithoutReplica: [name] });
    expect(down.durability.replicasOnline[name]).toBe(0);
    await eventually(
      async () =>
        (await (await h.request('GET', '/metrics')).text()).includes(
          `davpush_redis_replicas_online{master="${name}"} 0\n`,
        ),
      10_000,
      'gauge at 0',
    );
    const ev = await h.request('POST', '/v1/events', {
      token: w.apiKey,
      body: { topic: 'replicas-1', changes: ['content'] },
    });
    expect(ev.status).toBe(503);
    expect(((await ev.json()) as { type: string }).type).toMatch(/replication-timeout$/);

    for (const r of replicas) await cluster.restartNode(r);
    await cluster.waitUntilOk();
    await eventually(async () => (await readiness()).status === 200, 20_000, 'ready again');
    const after = await h.request('POST', '/v1/events', {
      token: w.apiKey,
      body: { topic: 'replicas-1', changes: ['content'], syncToken: 'back' },
    });
    expect(after.status).toBe(202);
  }, 60_000);
});
