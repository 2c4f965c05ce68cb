import { Injectable } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { AppConfig } from '@davpush/config';
import type { RedisClient } from '@davpush/storage';
import type { Transport } from '@davpush/domain';
import {
  JobName,
  deliverQueueFor,
  type DeadLetterJobData,
  type DeliverBatchJobData,
  type FanoutJobData,
  type ResumeFanoutJobData,
} from './jobs';
import { fanoutDeduplication, jobOptions } from './job-options';
import { QueueName } from './queue-name';
import { ShardedQueues } from './sharded-queues';

/**
 * The typed way into the queues: job names, payloads and options can't drift apart. A topic's
 * fan-out and every delivery of it go to the topic's shard (`ShardedQueues.shardOf`), so per-topic
 * order, coalescing and job-id deduplication work within one shard as they do without shards.
 */
@Injectable()
export class JobPublisher {
  constructor(
    private readonly config: AppConfig,
    private readonly shards: ShardedQueues,
  ) {}

  /** The queue of `name` in `shard` (shard 0 = the only one without sharding; ignored by the single queues). */
  queue(name: QueueName, shard = 0): Queue {
    if (name === QueueName.Maintenance) throw new Error(`no publisher for queue ${name}`);
    return this.shards.queue(name, shard);
  }

  /** The connections the fan-out jobs of these tenant topics were added over (for WAIT after adding), each once. */
  async fanoutConnections(tenantId: string, topics: Iterable<string>): Promise<RedisClient[]> {
    const queues = new Set([...topics].map((t) => this.shards.forTopic(QueueName.Fanout, tenantId, t)));
    return [
      ...new Set(await Promise.all([...queues].map(async (q) => (await q.backend.client) as unknown as RedisClient))),
    ];
  }

  /** Adds jobs to the queue of `kind` in the shard of each job's tenant topic. */
  private async addByShard<T extends { tenantId: string; topic: string }>(
    kind: QueueName,
    items: readonly T[],
    job: (data: T) => { name: JobName; opts: JobsOptions },
  ): Promise<void> {
    const byShard = new Map<number, T[]>();
    for (const data of items) {
      const shard = this.shards.shardOf(data.tenantId, data.topic);
      const list = byShard.get(shard);
      if (list) list.push(data);
      else byShard.set(shard, [data]);
    }
    await Promise.all(
      [...byShard].map(([shard, list]) =>
        this.shards.queue(kind, shard).addBulk(list.map((data) => ({ data, ...job(data) }))),
      ),
    );
  }

  /**
   * Schedules the topic's fan-out: at once (`immediate`: a leading or urgent change, or recovery),
   * or as the trailing push of an open coalescing window due in `delayMs`. Further changes inside
   * the window join the waiting trailing job instead of adding one (BullMQ deduplication).
   */
  async scheduleFanout(data: FanoutJobData, immediate: boolean, delayMs = this.config.coalesceMs): Promise<void> {
    const now = immediate || delayMs <= 0;
    const opts = jobOptions.fanout(delayMs, now);
    if (!now) opts.deduplication = fanoutDeduplication(data.tenantId, data.topic, delayMs);
    await this.shards.forTopic(QueueName.Fanout, data.tenantId, data.topic).add(JobName.Fanout, data, opts);
  }

  /**
   * Hands a fan-out begun outside the queue (its process died, or it failed mid-way) to the
   * workers: the job resumes dispatch `data.dispatchId` as a re-run (claimed events, fixed list and
   * settlements as they are; batches queued under their deterministic ids). One job per dispatch
   * while BullMQ keeps it: asking again is a no-op, but for a job that used up its attempts, which
   * is tried again (the dispatch's lease waits on it: apps/worker/src/maintenance/maintenance.processor.ts).
   */
  async resumeFanout(data: ResumeFanoutJobData): Promise<void> {
    const job = await this.shards
      .forTopic(QueueName.Fanout, data.tenantId, data.topic)
      .add(JobName.ResumeFanout, data, { ...jobOptions.fanout(0, true), jobId: `resume-${data.dispatchId}` });
    if (await job.isFailed()) await job.retry('failed');
  }

  /** Delivery batches of one dispatch (deterministic ids: adding one twice is a no-op). */
  async deliverBatches(transport: Transport, batches: readonly DeliverBatchJobData[]): Promise<void> {
    await this.addByShard(deliverQueueFor(transport), batches, (data) => ({
      name: JobName.DeliverBatch,
      opts: jobOptions.deliverBatch(data.dispatchId, data.registrationIds),
    }));
  }

  /**
   * Pushes passed on by job `parentJobId`, due at `at` (ms since the epoch): the rest a batch's
   * origin turned away (busy, circuit open), one push's retry as a batch of one, or a replayed
   * dead letter as a batch of one (named after the dead letter, so a replay is never a known id).
   */
  async deliverBatchAt(
    transport: Transport,
    data: DeliverBatchJobData,
    at: number,
    parentJobId: string,
  ): Promise<void> {
    const opts = jobOptions.deliverBatch(data.dispatchId, data.registrationIds, parentJobId);
    await this.shards
      .forTopic(deliverQueueFor(transport), data.tenantId, data.topic)
      .add(JobName.DeliverBatch, data, { ...opts, delay: Math.max(0, at - Date.now()) });
  }

  async deadLetter(data: DeadLetterJobData): Promise<void> {
    await this.shards.queue(QueueName.DeadLetter).add(JobName.DeadLetter, data, jobOptions.deadLetter());
  }
}
