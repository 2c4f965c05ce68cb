import keySlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { ALL_QUEUES, QUEUE_PREFIX, QueueName } from './queue-name';
import { dispatchIdOf, physicalQueue, physicalQueues, queueKindOf, shardOf, shardTag } from './queue-shards';

/** The master a slot falls on when `redis-cli --cluster create` splits 16384 slots evenly over `masters`. */
const masterOf = (slot: number, masters: number) =>
  Math.min(masters - 1, Math.floor(slot / Math.ceil(16_384 / masters)));

describe('queue shards', () => {
  it('one shard is exactly the unsharded layout: the same names and the {davpush-q} prefix', () => {
    expect(physicalQueues(1)).toEqual(
      ALL_QUEUES.map((kind) => ({
        kind,
        name: kind,
        prefix: QUEUE_PREFIX,
        ...(kind === QueueName.Fanout || kind.startsWith('deliver') ? { shard: 0 } : {}),
      })),
    );
  });

  it.each([2, 3, 4, 6, 9, 64])(
    '%i shards: distinct tags, evenly spaced slots, one queue of each sharded kind per shard',
    (n) => {
      const tags = Array.from({ length: n }, (_, i) => shardTag(i, n));
      expect(new Set(tags).size).toBe(n);
      expect(new Set(tags.map((t) => keySlot(t))).size).toBe(n);
      const queues = physicalQueues(n);
      expect(queues.filter((q) => q.kind === QueueName.DeliverFcm).map((q) => q.name)).toEqual(
        Array.from({ length: n }, (_, i) => (i ? `deliver-fcm-${i}` : 'deliver-fcm')),
      );
      expect(queues.filter((q) => q.kind === QueueName.DeadLetter)).toEqual([
        { kind: QueueName.DeadLetter, name: 'dead-letter', prefix: QUEUE_PREFIX },
      ]);
      // Every queue of one shard shares its tag (one slot): a fan-out and the deliveries it adds fail over together.
      expect(physicalQueue(QueueName.Fanout, n - 1, n).prefix).toBe(
        physicalQueue(QueueName.DeliverWebPush, n - 1, n).prefix,
      );
    },
  );

  it.each([3, 6, 9])('%i shards on 3 masters with the default slot split: %i / 3 shards on each master', (n) => {
    const perMaster = [0, 0, 0];
    for (let i = 0; i < n; i++) perMaster[masterOf(keySlot(shardTag(i, n)), 3)]!++;
    expect(perMaster).toEqual([n / 3, n / 3, n / 3]);
  });

  it('maps a tenant topic to the same shard every time, and many topics over every shard', () => {
    expect(shardOf('t1', 'cal/a', 4)).toBe(shardOf('t1', 'cal/a', 4));
    expect(shardOf('t1', 'cal/a', 1)).toBe(0);
    const seen = new Map<number, number>();
    for (let i = 0; i < 4000; i++)
      seen.set(shardOf('t1', `topic-${i}`, 4), (seen.get(shardOf('t1', `topic-${i}`, 4)) ?? 0) + 1);
    expect([...seen.keys()].toSorted()).toEqual([0, 1, 2, 3]);
    for (const n of seen.values()) expect(n).toBeGreaterThan(800);
    // The tenant is part of the hash: the same topic name of two tenants may land apart.
    expect(new Set(Array.from({ length: 20 }, (_, i) => shardOf(`tenant-${i}`, 'same', 4))).size).toBeGreaterThan(1);
  });

  it.each([
    ['fanout', QueueName.Fanout],
    ['fanout-3', QueueName.Fanout],
    ['deliver-web-push-12', QueueName.DeliverWebPush],
    ['deliver-fcm', QueueName.DeliverFcm],
    ['dead-letter', QueueName.DeadLetter],
    ['maintenance-2', undefined],
    ['other', undefined],
  ])('queueKindOf(%s) = %s', (name, kind) => {
    expect(queueKindOf(name)).toBe(kind);
  });

  it('names dispatches apart across shards (BullMQ job ids count per queue)', () => {
    expect(dispatchIdOf('fanout', '12')).toBe('f12');
    expect(dispatchIdOf('fanout-3', '12')).toBe('f3-12');
  });
});
