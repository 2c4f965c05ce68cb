import { digest } from '@davpush/domain';

/**
 * Every key davpush writes. Private to libs/storage (not exported from its index): other libs ask
 * a store for what they need. One `{davpush}` hash tag keeps all keys in one Redis Cluster slot,
 * so the multi-key Lua scripts below stay legal in cluster mode (Redis Cluster hash tags: https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags).
 */
const P = '{davpush}';

/** Topics and identities are client text of any length: keys carry their SHA-256, never the text. */
export { digest };

export const keys = {
  tenant: (id: string) => `${P}:tenant:${id}`,
  tenants: () => `${P}:tenants`,
  apiKey: (keyHash: string) => `${P}:apikey:${keyHash}`,
  secrets: () => `${P}:secrets`,
  registration: (id: string) => `${P}:reg:${id}`,
  topicRegistrations: (tenantId: string, topic: string) => keys.topicRegistrationsOf(tenantId, digest(topic)),
  /** The same zset named by the topic's digest (what a tenant's topic set, below, holds). */
  topicRegistrationsOf: (tenantId: string, topicDigest: string) => `${P}:topic:${tenantId}:${topicDigest}:regs`,
  topicIdentities: (tenantId: string, topic: string) => `${P}:topic:${tenantId}:${digest(topic)}:ids`,
  registrationExpiry: () => `${P}:reg-expiry`,
  event: (tenantId: string, eventId: string) => `${P}:event:${tenantId}:${eventId}`,
  pending: (tenantId: string, topic: string) => `${P}:pending:${tenantId}:${digest(topic)}`,
  /** Present while a topic's coalescing window is open (leading-edge coalescing, see README). */
  coalesceWindow: (tenantId: string, topic: string) => `${P}:window:${tenantId}:${digest(topic)}`,
  pendingIndex: () => `${P}:pending-index`,
  dispatch: (id: string) => `${P}:dispatch:${id}`,
  dispatchDone: (id: string) => `${P}:dispatch:${id}:done`,
  /** The live registrations a dispatch fans out to, fixed when its fan-out starts. */
  dispatchTargets: (id: string) => `${P}:dispatch:${id}:targets`,
  /** Registrations a batch job passed on to other jobs (retries, its bounced rest). */
  batchHandedOff: (jobId: string) => `${P}:batch:${digest(jobId)}:handed-off`,
  idempotency: (tenantId: string, key: string) => `${P}:idem:${tenantId}:${digest(key)}`,
  rateLimit: (tenantId: string) => `${P}:rate:${tenantId}`,
};

export const KEY_PREFIX = P;
