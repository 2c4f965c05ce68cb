import { beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { loadConfig } from '@davpush/config';
import { reachRedis } from '@davpush/runtime';
import type { Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

const PASSWORD = 'cluster-secret-0123456789';

/**
 * A Redis Cluster whose nodes want AUTH (`requirepass`, `masterauth`): davpush connects with
 * REDIS_CLUSTER_PASSWORD (and REDIS_CLUSTER_USERNAME for an ACL user), for its own data and for
 * BullMQ's queues alike, and the core path works; without it the nodes refuse every command.
 */
describe('a Redis Cluster with a password', () => {
  const w = useClusterWorld({ REDIS_CLUSTER_PASSWORD: PASSWORD }, { password: PASSWORD });
  let h: Harness;
  beforeAll(() => {
    h = w.h;
  });

  it('registers, accepts an event and pushes it, with readiness up', async () => {
    const { client, id } = await w.registerJson('auth-cal');
    const res = await h.request('POST', '/v1/events', {
      token: w.apiKey,
      body: { topic: 'auth-cal', changes: ['content'], syncToken: 'auth-1', urgency: 'high' },
    });
    expect(res.status).toBe(202);
    await w.push.waitFor({ id, count: 1 }, 15_000);
    expect(client.decrypt(w.push.received(id)[0]!.body)).toContain('auth-1');
    expect((await h.request('GET', '/health/ready')).status).toBe(200);
  });

  it('stops start-up on a wrong password with one line naming the cause, never the password', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: w.cluster.nodesEnv, REDIS_CLUSTER_PASSWORD: 'not-the-password' });
    const err = await reachRedis(config, 5_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^cannot reach Redis at cluster 127\.0\.0\.1:\d+.*WRONGPASS/);
    expect(err?.message).not.toContain('not-the-password');
  });

  it('is a cluster that refuses a client without the password', async () => {
    const anonymous = new Redis({ ...w.cluster.nodes[0]!, maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    try {
      await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    } finally {
      anonymous.disconnect();
    }
  });
});
