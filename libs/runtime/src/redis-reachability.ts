import type { AppConfig } from '@davpush/config';
import { within } from '@davpush/observability';
import { createRedisClient, isCommandTimeout, mastersWithoutReplica } from '@davpush/storage';
import { socketPathProblem } from './private-redis';

/** How long the start-up PING may take before Redis counts as unreachable. */
const REDIS_REACH_TIMEOUT_MS = 5000;

/** A Redis URL fit for a log line: the password (and user) replaced by `[redacted]`. */
function redactRedisUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}

/** Cluster nodes fit for a log line: `host:port,…`, anything before an `@` in a host redacted. */
function redactNodes(nodes: { host: string; port: number }[] | undefined): string {
  return (nodes ?? []).map((n) => `${n.host.replace(/^.*@/, '[redacted]@')}:${n.port}`).join(',');
}

/** Where the config points, for messages: the redacted URL, or the cluster nodes. */
function redisLocation(config: AppConfig): string {
  if (config.redis.url) return redactRedisUrl(config.redis.url);
  return `cluster ${redactNodes(config.redis.clusterNodes)}`;
}

/** For the start-up banner: which variable configures Redis, and its redacted value. */
export function configuredRedis(config: AppConfig): string {
  if (config.redis.clusterNodes) return `REDIS_CLUSTER_NODES ${redactNodes(config.redis.clusterNodes)}`;
  return config.redis.url ? `REDIS_URL ${redactRedisUrl(config.redis.url)}` : 'REDIS_URL';
}

/**
 * One PING before Nest starts: an unreachable Redis becomes one line naming the (redacted) URL and
 * the cause, instead of endless reconnect errors from every BullMQ connection. With
 * DAVPUSH_DURABILITY=replicated, also checks that every master has a replica online.
 * @throws Error `cannot reach Redis at <url>: <cause>`, or `DAVPUSH_DURABILITY=replicated needs a replica …`
 */
export async function reachRedis(config: AppConfig, timeoutMs = REDIS_REACH_TIMEOUT_MS): Promise<void> {
  const where = redisLocation(config);
  if (config.redis.url?.startsWith('unix:')) {
    const problem = socketPathProblem(decodeURIComponent(new URL(config.redis.url).pathname));
    if (problem) throw new Error(`cannot reach Redis at ${where}: ${problem}`);
  }
  const client = createRedisClient(config, { name: 'davpush-start' });
  let lastError: Error | undefined;
  client.on('error', (err: Error) => (lastError = err)); // reported below, once
  try {
    try {
      await within(client.ping(), timeoutMs, 'Redis');
    } catch (err) {
      // A cluster says only "Failed to refresh slots cache"; why (WRONGPASS, NOAUTH, refused) is the
      // last node's error it carries.
      const last = lastError ?? (err as Error);
      const nodeError = (last as Error & { lastNodeError?: Error }).lastNodeError?.message;
      const message = isCommandTimeout(last)
        ? `no answer within ${config.redis.commandTimeoutMs} ms (DAVPUSH_REDIS_COMMAND_TIMEOUT_MS)`
        : last.message;
      const cause = nodeError ? `${message} (${nodeError})` : message;
      throw new Error(`cannot reach Redis at ${where}: ${cause}`, { cause: err });
    }
    if (config.durability.mode === 'replicated') {
      // docs/durability.md: every accepted write waits for a replica; without one, every write would be a 503.
      const lacking = await within(mastersWithoutReplica(client), timeoutMs, 'Redis replication info');
      if (lacking.length) {
        throw new Error(
          `DAVPUSH_DURABILITY=replicated needs a replica of every Redis master, but ${lacking.join(', ')} has none online (${where}); add replicas or set DAVPUSH_DURABILITY=local`,
        );
      }
    }
  } finally {
    client.disconnect();
  }
}
