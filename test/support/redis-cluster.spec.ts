import * as fs from 'node:fs';
import { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCluster } from './redis-cluster';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('RedisCluster (test support)', () => {
  afterAll(() => RedisCluster.stopAll());

  it('forms 3 masters + 3 replicas, serves keys on every slot range, and stop() leaves nothing behind', async () => {
    const cluster = await RedisCluster.start();
    const pids = cluster.pids;
    expect(pids).toHaveLength(6);

    const info = await cluster.cli(cluster.nodes[0]!, 'CLUSTER', 'INFO');
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_known_nodes:6/);
    expect(info).toMatch(/cluster_size:3/);
    const roles = await Promise.all(cluster.nodes.map((n) => cluster.cli(n, 'ROLE')));
    expect(roles.filter((r) => r.startsWith('master'))).toHaveLength(3);
    expect(roles.filter((r) => r.startsWith('slave'))).toHaveLength(3);

    const client = new Cluster(cluster.nodes);
    try {
      // Keys spread over the slots of several masters; each reads back through redirection.
      const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
      for (const k of keys) await client.set(k, `v-${k}`);
      for (const k of keys) expect(await client.get(k)).toBe(`v-${k}`);
      const owners = new Set(await Promise.all(keys.map((k) => client.cluster('KEYSLOT', k))));
      expect(owners.size).toBeGreaterThan(1);
    } finally {
      client.disconnect();
    }

    await cluster.stop();
    expect(pids.filter(alive)).toEqual([]);
    expect(fs.existsSync(cluster.dir)).toBe(false);
    await cluster.stop(); // twice is fine
  }, 60_000);
});
