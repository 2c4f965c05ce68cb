import { createHash } from 'node:crypto';
import keySlot from 'cluster-key-slot';
import { ALL_QUEUES, QUEUE_PREFIX, QueueName } from './queue-name';

/** Queues split into shards: a topic's fan-out and the deliveries it queues stay in one shard. */
export const SHARDED_QUEUES: readonly QueueName[] = [QueueName.Fanout, QueueName.DeliverWebPush, QueueName.DeliverFcm];

/** Redis Cluster hash slots (cluster spec, "Key distribution model"). */
const SLOTS = 16_384;

/** One BullMQ queue as it exists in Redis: its role (`kind`), shard, name and key prefix. */
export interface PhysicalQueue {
  kind: QueueName;
  /** Shard number for a sharded queue; undefined for the single maintenance and dead-letter queues. */
  shard?: number;
  /** BullMQ queue name: the kind's name for shard 0 and the single queues, `<kind>-<shard>` after. */
  name: string;
  /** BullMQ key prefix, a Redis Cluster hash tag: every queue of one shard lives in one slot. */
  prefix: string;
}

/**
 * The hash tag of shard `shard` of `count`. Shard 0 keeps `{davpush-q}` (so one shard is exactly
 * the layout before sharding, and its jobs stay where they are when shards are added); shard i
 * gets the first `davpush-q-<i>[-<k>]` whose slot lies near `slot(davpush-q) + i × 16384 / count`.
 * Evenly spaced slots land on different masters under the usual even slot allocation (`redis-cli
 * --cluster create` gives each master one contiguous, equal range), so `count` = a multiple of
 * the masters puts the same number of shards on each.
 */
export function shardTag(shard: number, count: number): string {
  const base = QUEUE_PREFIX.slice(1, -1);
  if (shard === 0) return QUEUE_PREFIX;
  const target = (keySlot(base) + Math.round((shard * SLOTS) / count)) % SLOTS;
  const tolerance = Math.max(8, Math.floor(SLOTS / count / 16));
  for (let k = 0; ; k++) {
    const tag = k === 0 ? `${base}-${shard}` : `${base}-${shard}-${k}`;
    const d = Math.abs(keySlot(tag) - target);
    if (Math.min(d, SLOTS - d) <= tolerance) return `{${tag}}`;
  }
}

/**
 * The shard a tenant topic belongs to: the first 32 bits of SHA-256(tenant id, topic) modulo the
 * shard count. Stable across processes and restarts; changes only when the shard count does.
 */
export function shardOf(tenantId: string, topic: string, count: number): number {
  if (count <= 1) return 0;
  return createHash('sha256').update(tenantId).update('\n').update(topic).digest().readUInt32BE(0) % count;
}

/** The physical queue of `kind` in `shard` (shard ignored for the single queues). */
export function physicalQueue(kind: QueueName, shard: number, count: number): PhysicalQueue {
  if (!SHARDED_QUEUES.includes(kind)) return { kind, name: kind, prefix: QUEUE_PREFIX };
  return { kind, shard, name: shard === 0 ? kind : `${kind}-${shard}`, prefix: shardTag(shard, count) };
}

/** Every queue of a deployment with `count` shards: each sharded kind once per shard, then the single ones. */
export function physicalQueues(count: number): PhysicalQueue[] {
  const out: PhysicalQueue[] = [];
  for (const kind of ALL_QUEUES) {
    if (!SHARDED_QUEUES.includes(kind)) out.push(physicalQueue(kind, 0, count));
    else for (let s = 0; s < count; s++) out.push(physicalQueue(kind, s, count));
  }
  return out;
}

/** The role of a BullMQ queue name (`deliver-fcm-3` → deliver-fcm); undefined for a name that is none of ours. */
export function queueKindOf(name: string): QueueName | undefined {
  const kind = name.replace(/-\d+$/, '');
  if ((ALL_QUEUES as readonly string[]).includes(name)) return name as QueueName;
  return SHARDED_QUEUES.includes(kind as QueueName) ? (kind as QueueName) : undefined;
}

/**
 * The dispatch a fan-out job runs (event status and delivery job ids are named after it):
 * `f<id>` in `fanout`, `f<i>-<id>` in `fanout-<i>`. Fan-out jobs get random ids
 * (`jobOptions.fanout`); the shard keeps apart the counter ids BullMQ gave jobs queued before.
 */
export function dispatchIdOf(fanoutQueueName: string, jobId: string): string {
  const shard = /-(\d+)$/.exec(fanoutQueueName)?.[1];
  return shard ? `f${shard}-${jobId}` : `f${jobId}`;
}
