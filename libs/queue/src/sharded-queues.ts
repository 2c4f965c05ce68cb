import { getQueueToken } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { QueueName } from './queue-name';
import { physicalQueue, physicalQueues, shardOf, type PhysicalQueue } from './queue-shards';

/**
 * The BullMQ queues of this deployment (DAVPUSH_QUEUE_SHARDS): which shard a tenant topic belongs
 * to and the `Queue` of each kind and shard, resolved by Nest token (QueueModule registers them all).
 */
@Injectable()
export class ShardedQueues {
  readonly count: number;
  private readonly byName = new Map<string, Queue>();

  constructor(
    config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {
    this.count = config.queues.shards;
  }

  /** Every queue: each sharded kind once per shard (shard 0 first), then the single ones. */
  all(): PhysicalQueue[] {
    return physicalQueues(this.count);
  }

  /** The shard of a tenant topic (stable: see `shardOf`). */
  shardOf(tenantId: string, topic: string): number {
    return shardOf(tenantId, topic, this.count);
  }

  /** The queue of `kind` in `shard` (the single queues ignore `shard`). */
  queue(kind: QueueName, shard = 0): Queue {
    if (shard < 0 || shard >= this.count)
      throw new Error(`no queue shard ${shard} (DAVPUSH_QUEUE_SHARDS=${this.count})`);
    return this.byPhysical(physicalQueue(kind, shard, this.count));
  }

  /** The queue of `kind` that carries this tenant topic's jobs. */
  forTopic(kind: QueueName, tenantId: string, topic: string): Queue {
    return this.queue(kind, this.shardOf(tenantId, topic));
  }

  byPhysical(q: PhysicalQueue): Queue {
    let queue = this.byName.get(q.name);
    if (!queue) {
      queue = this.moduleRef.get<Queue>(getQueueToken(q.name), { strict: false });
      this.byName.set(q.name, queue);
    }
    return queue;
  }
}
