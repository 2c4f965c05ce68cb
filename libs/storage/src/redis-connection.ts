import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '@davpush/config';

export type RedisClient = Redis | Cluster;

/** ioredis options from REDIS_URL (`redis://`, `rediss://`, `unix:///path`). */
export function redisOptionsFrom(url: string): RedisOptions {
  const u = new URL(url);
  if (u.protocol === 'unix:') return { path: decodeURIComponent(u.pathname) };
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined,
    tls: u.protocol === 'rediss:' ? { servername: u.hostname } : undefined,
  };
}

/** Options every connection to a Redis Cluster node takes: its AUTH (REDIS_CLUSTER_USERNAME / _PASSWORD). */
export function clusterNodeOptions(config: AppConfig): RedisOptions {
  const auth = config.redis.clusterAuth;
  return auth ? { username: auth.username, password: auth.password } : {};
}

/**
 * Creates a client for our own data or for BullMQ. Workers must have `maxRetriesPerRequest: null`
 * (BullMQ blocks on BRPOPLPUSH-style commands); producers keep ioredis' bounded retries so a Redis
 * outage turns into a clear 503 instead of a request that hangs.
 */
export function createRedisClient(
  config: AppConfig,
  opts: { blocking?: boolean; name?: string; autoPipelining?: boolean } = {},
): RedisClient {
  const common: RedisOptions = {
    connectionName: opts.name,
    // Commands issued in the same tick (hundreds of concurrent deliveries) share one write.
    enableAutoPipelining: opts.autoPipelining ?? false,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  };
  if (config.redis.clusterNodes) {
    return new Cluster(config.redis.clusterNodes, {
      redisOptions: { ...clusterNodeOptions(config), ...common },
      enableOfflineQueue: true,
    });
  }
  if (!config.redis.url) throw new Error('Redis is not configured (REDIS_URL or a spawned redis-server)');
  return new Redis({ ...redisOptionsFrom(config.redis.url), ...common });
}
