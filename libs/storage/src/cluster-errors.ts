/**
 * Redis Cluster replies and ioredis `Cluster` errors that mean "the cluster cannot serve this slot
 * right now" (a slot moving, a failover, a node down) rather than a bug in the command. Callers map
 * them to StorageUnavailableError (503 + Retry-After) instead of a 500.
 *
 * Sources: Redis Cluster spec, "Redirection and resharding" and "Failure detection"
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/) for `MOVED`, `ASK`,
 * `TRYAGAIN`, `CLUSTERDOWN`; `MASTERDOWN` and `LOADING` from replicas and restarting nodes; ioredis'
 * own errors in node_modules/ioredis/built/cluster/index.js ("Too many Cluster redirections",
 * "Failed to refresh slots cache", "Cluster isn't ready").
 */
const REPLY_PREFIXES = ['CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'MASTERDOWN', 'LOADING'] as const;
const CLIENT_MESSAGES = [
  'Too many Cluster redirections',
  'Failed to refresh slots cache',
  "Cluster isn't ready",
] as const;

/** True when `err` is a transient Redis Cluster condition (see above); false for anything else. */
export function isClusterUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const message = err.message;
  if (REPLY_PREFIXES.some((p) => message.startsWith(`${p} `) || message === p)) return true;
  if (CLIENT_MESSAGES.some((m) => message.startsWith(m))) return true;
  return err.name === 'ClusterAllFailedError';
}
