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
 * Creates a client for our own data. A `blocking` client (one that waits on BRPOPLPUSH-style
 * commands) retries for ever and has no command timeout; every other client keeps ioredis' bounded
 * retries and fails each command after `config.redis.commandTimeoutMs` with `Command timed out`
 * (ioredis `commandTimeout`, node_modules/ioredis/built/Command.js), so a Redis outage, or a Redis
 * that stops answering without closing the connection, turns into a clear 503 or a failed job
 * instead of a request or a GroupCommit write that hangs. A timed-out command may still run on the
 * server later (a frozen Redis that resumes): its caller only knows that it may have taken effect.
 * BullMQ makes its own connections (libs/queue/src/queue.module.ts), without a command timeout
 * (the API bounds its job adds itself: libs/application/src/events.service.ts). On a Redis Cluster
 * these options are each node's: a command the Cluster client keeps in its own offline queue while
 * it (re)connects has no timer (node_modules/ioredis/built/cluster/index.js) and waits until it is ready.
 *
 * The same bound drops the connection itself: `socketTimeout` destroys a socket that received nothing
 * for that long after a write (node_modules/ioredis/built/Redis.js `setSocketTimeout`), and ioredis
 * reconnects, instead of keeping a silently dead connection that every later command times out on.
 * ioredis would then write the commands still unanswered on the old socket again on the new one
 * (`autoResendUnfulfilledCommands`, node_modules/ioredis/built/redis/event_handler.js `readyHandler`),
 * timed-out ones included: a write whose caller was told "timed out" would run again, or for the
 * first time, when Redis comes back. Every command here has its own timer that rejects it, so
 * nothing waits for ever without the resend. Not covered: a command made while reconnecting waits in
 * ioredis' offline queue, and if its timer fires there it is still written once a connection is
 * ready; ioredis empties that queue (rejecting its commands) when a handshake fails and at every
 * third failed attempt (`maxRetriesPerRequest`), so such a command runs at most a few reconnect attempts late.
 */
export function createRedisClient(config: AppConfig, opts: { blocking?: boolean; name?: string } = {}): RedisClient {
  const common: RedisOptions = {
    connectionName: opts.name,
    // Each command is written at once. ioredis' auto-pipelining defers every write to the next
    // setImmediate (node_modules/ioredis/built/autoPipelining.js) and builds a Pipeline object per
    // flush: under load each of an urgent event's sequential round trips waited for the end of the
    // event loop's turn, and those objects lived long enough to be promoted (more major GCs).
    // Measured at 200 urgent events/s (README "Tests and benchmarks"): p99 7–9 ms without it
    // against 9–35 ms with it, the same Web Push throughput.
    enableAutoPipelining: false,
    maxRetriesPerRequest: opts.blocking ? null : 2,
    commandTimeout: opts.blocking ? undefined : config.redis.commandTimeoutMs,
    socketTimeout: opts.blocking ? undefined : config.redis.commandTimeoutMs,
    autoResendUnfulfilledCommands: !!opts.blocking,
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

/**
 * True for ioredis' `Command timed out` (the client's `commandTimeout` passed without a reply,
 * node_modules/ioredis/built/Command.js). ioredis gives it no class or code, so the exact message
 * it is made with is the only mark; redis-connection.int-spec.ts provokes the real one.
 */
export function isCommandTimeout(err: unknown): boolean {
  return err instanceof Error && err.message === 'Command timed out';
}
