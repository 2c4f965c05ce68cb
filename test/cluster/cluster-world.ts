import { afterAll, beforeAll, expect } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster, type RedisClusterOptions } from '../support/redis-cluster';
import type { WebPushClient } from '../support/webpush-client';
import { registerWebPush, startClusterHarness, type Harness } from '../e2e/harness';

/** What every cluster e2e file works with: a cluster of its own, davpush on it, a push service, a tenant. */
export interface ClusterWorld {
  cluster: RedisCluster;
  h: Harness;
  push: FakePushService;
  apiKey: string;
  /** The id of the tenant whose key is `apiKey`. */
  tenantId: string;
  /** Registers a new Web Push client for `topic` with the JSON form; expects 201. */
  registerJson(topic: string): Promise<{ client: WebPushClient; id: string; location: string }>;
}

/**
 * Starts the world in `beforeAll` (a fresh cluster, 3 masters with 1 replica each unless
 * `clusterOptions` say otherwise; davpush with `env` on it)
 * and stops everything in `afterAll`. Read the fields inside tests, after `beforeAll` ran.
 */
export function useClusterWorld(
  env: Record<string, string> = {},
  clusterOptions: RedisClusterOptions = {},
): ClusterWorld {
  const world = {} as ClusterWorld;
  beforeAll(async () => {
    world.cluster = await RedisCluster.start(clusterOptions);
    world.h = await startClusterHarness(world.cluster, env);
    world.push = await FakePushService.start();
    ({ apiKey: world.apiKey, id: world.tenantId } = await world.h.createTenant());
  }, 90_000);
  afterAll(async () => {
    await world.push?.stop();
    await world.h?.close();
    await world.cluster?.stop();
  });
  world.registerJson = async (topic) => {
    const { client: c, res } = await registerWebPush(world.h, world.apiKey, world.push, topic);
    expect(res.status).toBe(201);
    return { client: c, id: world.push.idOf(c), location: res.headers.get('location')! };
  };
  return world;
}
