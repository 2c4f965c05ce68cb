import { BUCKETS, bucketOf, digest, keys, topicKeys } from './keys';
import type { RedisClient } from './redis-connection';
import { vanishedIdOf } from './registration-id';
import { DRAIN, REMOVE_IF_UNCHANGED } from './registration.scripts';

/** Where the sweep found a topic: its bucket, and the score it read there (the topic's earliest expiry then). */
export interface SweepEntry {
  bucket: string;
  seen: number;
}

/**
 * Removes the registrations of one topic (by tag) with an expiry up to `maxScore` ('+inf' = all),
 * `batch` at a time, each batch one atomic step on the topic's slot; then takes them out of their
 * principals' indexes (other slots). From the sweep, it also files the topic under its new earliest
 * expiry, or takes it off the sweep's list when it has no registration left (unless an upsert
 * filed it again meanwhile); an emptied topic leaves the tenant's list too (an upsert that makes
 * the topic again files it again, see `RegistrationStore.upsert`). Returns how many were removed and how many of them were live.
 */
export async function drainTopic(
  client: RedisClient,
  tenantId: string,
  tag: string,
  maxScore: string,
  now: number,
  batch: number,
  sweep?: SweepEntry,
): Promise<{ removed: number; live: number }> {
  const k = topicKeys(tag);
  let removed = 0;
  let live = 0;
  for (;;) {
    const [n, nLive, earliest, ...pairs] = (await DRAIN.runBuffer(
      client,
      [k.registrations, k.expiry, k.meta],
      [maxScore, now, batch],
    )) as [number, number, Buffer, ...Buffer[]];
    removed += n;
    live += nLive;
    const unbound: Promise<unknown>[] = [];
    for (let i = 0; i < pairs.length; i += 2)
      if (tenantId)
        unbound.push(
          client.zrem(keys.principal(tenantId, digest(pairs[i + 1]!.toString('utf8'))), vanishedIdOf(tag, pairs[i]!)),
        );
    await Promise.all(unbound);
    if (n >= batch) continue;
    const e = earliest.toString();
    if (sweep && e !== '') await client.zadd(sweep.bucket, e, tag);
    if (sweep && e === '') await REMOVE_IF_UNCHANGED.run(client, [sweep.bucket], [tag, sweep.seen]);
    if (!sweep && e === '') await client.zrem(keys.sweepBucket(bucketOf(tag)), tag);
    if (e === '' && tenantId) await client.srem(keys.tenantTopics(tenantId, bucketOf(tag)), tag);
    if (e === '') await refileIfRepopulated(client, tenantId, tag);
    return { removed, live };
  }
}

/**
 * After a topic that emptied was taken out of the indexes across topics: files it again if a new
 * registration came meanwhile (its upsert may have filed it just before it was taken out).
 */
export async function refileIfRepopulated(client: RedisClient, tenantId: string, tag: string): Promise<void> {
  const first = await client.zrange(topicKeys(tag).expiry, '0', '0', 'WITHSCORES');
  if (first.length === 0) return;
  await client.zadd(keys.sweepBucket(bucketOf(tag)), 'LT', first[1]!, tag);
  if (tenantId) await client.sadd(keys.tenantTopics(tenantId, bucketOf(tag)), tag);
}

const CURSOR_BUCKET = 1e9;
const PAGE = 100;

/**
 * Visits every topic that has registrations (the sweep's buckets list them all), in bucket order,
 * from `cursor` (0 = the start); `visit` answers whether to go on. Returns the cursor to go on
 * from, or undefined when every topic was visited.
 */
export async function eachTopic(
  client: RedisClient,
  cursor: number,
  visit: (tag: string) => Promise<boolean>,
): Promise<number | undefined> {
  for (let b = Math.floor(cursor / CURSOR_BUCKET), offset = cursor % CURSOR_BUCKET; b < BUCKETS; b++, offset = 0) {
    for (;;) {
      const tags = await client.zrange(keys.sweepBucket(b), String(offset), String(offset + PAGE - 1));
      for (const tag of tags) {
        offset++;
        if (!(await visit(tag))) return b * CURSOR_BUCKET + offset;
      }
      if (tags.length < PAGE) break;
    }
  }
  return undefined;
}
