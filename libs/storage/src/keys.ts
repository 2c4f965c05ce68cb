import { createHash } from 'node:crypto';
import { digest } from '@davpush/domain';

/**
 * Every key davpush writes, and how ids lead to them. Private to libs/storage (not exported from
 * its index): other libs ask a store for what they need.
 *
 * Redis Cluster places a key by the part inside `{…}`, its hash tag
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags), and a Lua
 * script or a MULTI may touch one slot only. So:
 * - everything of one tenant topic (its registrations and their expiry index, pending events,
 *   coalescing window, event records, dispatches with their fixed target lists and done sets) shares
 *   the topic's tag, 16 characters derived from the tenant id and the topic's digest: topics spread
 *   over every slot, and each topic's scripts stay on one;
 * - registration and dispatch ids begin with their topic's tag, so an id alone names its keys;
 * - indexes across topics (topics to sweep, topics with pending events, a tenant's topics, known
 *   topics) are cut into {@link BUCKETS} keys with their own tags, so no slot is hot;
 * - tenants, API keys and secrets keep the small `{davpush}` tag; single keys carry none.
 * Data written under the older single-tag layout is not read (docs/cluster.md "Key layout").
 */
const P = '{davpush}';

/** Topics and identities are client text of any length: keys carry their SHA-256, never the text. */
export { digest };

/** Length of a topic tag (hex), the prefix of every registration and dispatch id. */
export const TAG_LENGTH = 20;

/** How many keys each index across topics is cut into. */
export const BUCKETS = 16;

/**
 * The hash tag of a tenant topic: 80 bits of SHA-256 over the tenant id and the topic's digest, in
 * hex (two topics sharing a tag would share their keys: at 10 million topics the odds are ~10^-10).
 */
export const topicTagOf = (tenantId: string, topicDigest: string): string =>
  createHash('sha256').update(`${tenantId}\n${topicDigest}`).digest('hex').slice(0, TAG_LENGTH);

/** Tags of recently seen topics (first in, first out): one event or push asks for its topic's tag several times. */
const recentTags = new Map<string, string>();
const RECENT_TAGS_MAX = 4096;

/** {@link topicTagOf} the topic's digest; remembered for the last {@link RECENT_TAGS_MAX} topics (two SHA-256 saved per call). */
export const topicTag = (tenantId: string, topic: string): string => {
  const key = `${tenantId}\n${topic}`;
  let tag = recentTags.get(key);
  if (tag === undefined) {
    tag = topicTagOf(tenantId, digest(topic));
    if (recentTags.size >= RECENT_TAGS_MAX) recentTags.delete(recentTags.keys().next().value!);
    recentTags.set(key, tag);
  }
  return tag;
};

/** The tag an id begins with (a short id, as tests use, is its own tag). */
export const tagOfId = (id: string): string => id.slice(0, TAG_LENGTH);

/** The bucket (0 … BUCKETS-1) of a topic tag: its first hex digit. */
export const bucketOf = (tag: string): number => parseInt(tag[0]!, 16) % BUCKETS;

/** The bucket of a base64url digest: its first character. */
export const digestBucketOf = (d: string): number => d.charCodeAt(0) % BUCKETS;

/** All keys of one topic, from its tag. */
export const topicKeys = (tag: string) => ({
  /** hash: identity (12 bytes) → packed registration (registration-record.ts) */
  registrations: `{${tag}}:r`,
  /** zset: identity → expiresAt (ms) */
  expiry: `{${tag}}:x`,
  /** hash: t = tenant id, p = topic text */
  meta: `{${tag}}:m`,
  pending: `{${tag}}:p`,
  /** Present while the topic's coalescing window is open (leading-edge coalescing, see README). */
  window: `{${tag}}:w`,
  event: (eventId: string) => `{${tag}}:e:${eventId}`,
});

/** The keys of a dispatch, from its id (its topic's tag followed by its name). */
export const dispatchKeys = (id: string) => {
  const base = `{${tagOfId(id)}}:d:${id.slice(TAG_LENGTH)}`;
  /** done: ids settled; targets: the fixed list of identities its fan-out pages through. */
  return { record: base, done: `${base}:done`, targets: `${base}:l` };
};

export const keys = {
  tenant: (id: string) => `${P}:tenant:${id}`,
  tenants: () => `${P}:tenants`,
  apiKey: (keyHash: string) => `${P}:apikey:${keyHash}`,
  secrets: () => `${P}:secrets`,
  /** Where the status of an event is found: its topic's tag (the record itself is a topic key). */
  eventTopic: (tenantId: string, eventId: string) => `davpush:event:${tenantId}:${digest(eventId)}`,
  /** zset per bucket: topic tag → earliest expiry among its registrations (the sweep's to-do list). */
  sweepBucket: (b: number) => `{sweep.${b}}`,
  /** zset per bucket: JSON [tenantId, topic] → when an event was last parked for it. */
  pendingBucket: (b: number) => `{pending.${b}}`,
  /**
   * zset per bucket: JSON [tenantId, topic, dispatchId] → lease end (ms) of a fan-out running in the
   * process that accepted its event, outside the queue (fanout-lease.store.ts).
   */
  leaseBucket: (b: number) => `{lease.${b}}`,
  /** set per tenant and bucket: tags of the tenant's topics that have had registrations. */
  tenantTopics: (tenantId: string, b: number) => `{topics.${tenantId}.${b}}`,
  /** zset: registrations (tag + identity) of one principal of a tenant → expiresAt. */
  principal: (tenantId: string, principalDigest: string) => `{principal.${tenantId}.${principalDigest}}`,
  /** set per tenant and bucket: digests of the topics a tenant has shown davpush. */
  knownTopics: (tenantId: string, b: number) => `{known.${tenantId}.${b}}`,
  /** Registrations a batch job passed on to other jobs (retries, its bounced rest). */
  batchHandedOff: (jobId: string) => `davpush:handed-off:${digest(jobId)}`,
  idempotency: (tenantId: string, key: string) => `davpush:idem:${tenantId}:${digest(key)}`,
  rateLimit: (tenantId: string) => `{rate.${tenantId}}`,
  proxy: (upstreamId: string) => `{proxy.${digest(upstreamId)}}`,
};

export const KEY_PREFIX = P;
