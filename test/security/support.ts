import type { Redis } from 'ioredis';

/**
 * Small helpers shared by the security suites: a Redis snapshot to prove "nothing changed", and a
 * seeded PRNG so every generated input can be reproduced from the seed printed with a failure.
 */

export type Snapshot = Map<string, string>;

/** Every key matching the patterns with a canonical rendering of its value (type-aware). */
export async function snapshot(redis: Redis, patterns: readonly string[]): Promise<Snapshot> {
  const names = new Set<string>();
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', '1000');
      batch.forEach((k) => names.add(k));
      cursor = next;
    } while (cursor !== '0');
  }
  const sorted = [...names].toSorted();
  const types = ((await sorted.reduce((p, k) => p.type(k), redis.pipeline()).exec()) ?? []).map(([, t]) => t as string);
  const reads = redis.pipeline();
  sorted.forEach((k, i) => {
    const t = types[i];
    if (t === 'hash') reads.hgetall(k);
    else if (t === 'zset') reads.zrange(k, '0', '-1', 'WITHSCORES');
    else if (t === 'set') reads.smembers(k);
    else if (t === 'list') reads.lrange(k, 0, -1);
    else reads.get(k);
  });
  const values = ((await reads.exec()) ?? []).map(([, v]) => v);
  const out: Snapshot = new Map();
  sorted.forEach((key, i) => {
    const type = types[i]!;
    if (type === 'none') return; // gone between SCAN and TYPE
    let value = values[i];
    if (type === 'hash')
      value = Object.entries(value as Record<string, string>).toSorted(([a], [b]) => (a < b ? -1 : 1));
    if (type === 'set') value = (value as string[]).toSorted();
    out.set(key, `${type}:${JSON.stringify(value)}`);
  });
  return out;
}

/**
 * Where registrations live (libs/storage/src/keys.ts): per topic a hash of records (`{tag}:r`), an
 * expiry index (`{tag}:x`) and the topic's tenant and text (`{tag}:m`); a registration id begins
 * with its topic's 20-digit tag.
 */
export const REGISTRATION_PATTERNS = ['{*}:r', '{*}:x', '{*}:m'];
export const topicTagOfRegistration = (id: string): string => id.slice(0, 20);
export const registrationKeysOf = (id: string): string[] =>
  ['r', 'x', 'm'].map((s) => `{${topicTagOfRegistration(id)}}:${s}`);
/** Keys that name a tenant: its record, its buckets and indexes, its events' and idempotency records. */
export const tenantPatterns = (tenantId: string): string[] => [
  `{davpush}:*${tenantId}*`,
  `{*.${tenantId}.*}`,
  `{rate.${tenantId}}`,
  `davpush:*:${tenantId}:*`,
];

/** Keys added, removed or changed between two snapshots. */
export function diff(before: Snapshot, after: Snapshot): { added: string[]; removed: string[]; changed: string[] } {
  return {
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    changed: [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)),
  };
}

/** mulberry32: tiny, fast, good enough to generate test inputs, and fully determined by its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` in flight. */
export async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await task(next++);
  });
  await Promise.all(lanes);
}

/** The id at the end of a registration `Location`. */
export const idOf = (location: string | null): string => {
  if (!location) throw new Error('no Location header');
  return location.slice(location.lastIndexOf('/') + 1);
};
