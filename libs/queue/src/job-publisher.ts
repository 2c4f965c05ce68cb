import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '@davpush/config';
import type { Transport } from '@davpush/domain';
import { JobName, deliverQueueFor, type DeadLetterJobData, type DeliverBatchJobData, type FanoutJobData } from './jobs';
import { fanoutDeduplication, jobOptions } from './job-options';
import { QueueName } from './queue-name';

/** The typed way into the queues: job names, payloads and options can't drift apart. */
@Injectable()
export class JobPublisher {
  constructor(
    private readonly config: AppConfig,
    @InjectQueue(QueueName.Fanout) private readonly fanout: Queue,
    @InjectQueue(QueueName.DeliverWebPush) private readonly webPush: Queue,
    @InjectQueue(QueueName.DeliverFcm) private readonly fcm: Queue,
    @InjectQueue(QueueName.DeadLetter) private readonly deadLetters: Queue,
  ) {}

  queue(name: QueueName): Queue {
    const byName: Partial<Record<QueueName, Queue>> = {
      [QueueName.Fanout]: this.fanout,
      [QueueName.DeliverWebPush]: this.webPush,
      [QueueName.DeliverFcm]: this.fcm,
      [QueueName.DeadLetter]: this.deadLetters,
    };
    const q = byName[name];
    if (!q) throw new Error(`no publisher for queue ${name}`);
    return q;
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
    await this.fanout.add(JobName.Fanout, data, opts);
  }

  /** Delivery batches of one dispatch (deterministic ids: adding one twice is a no-op). */
  async deliverBatches(transport: Transport, batches: readonly DeliverBatchJobData[]): Promise<void> {
    if (batches.length === 0) return;
    await this.queue(deliverQueueFor(transport)).addBulk(
      batches.map((data) => ({ name: JobName.DeliverBatch, data, opts: jobOptions.deliverBatch(data.dispatchId, data.registrationIds) })),
    );
  }

  /**
   * Pushes passed on by job `parentJobId`, due at `at` (ms since the epoch): the rest a batch's
   * origin turned away (busy, circuit open), one push's retry as a batch of one, or a replayed
   * dead letter as a batch of one (named after the dead letter, so a replay is never a known id).
   */
  async deliverBatchAt(transport: Transport, data: DeliverBatchJobData, at: number, parentJobId: string): Promise<void> {
    const opts = jobOptions.deliverBatch(data.dispatchId, data.registrationIds, parentJobId);
    await this.queue(deliverQueueFor(transport)).add(JobName.DeliverBatch, data, { ...opts, delay: Math.max(0, at - Date.now()) });
  }

  async deadLetter(data: DeadLetterJobData): Promise<void> {
    await this.deadLetters.add(JobName.DeadLetter, data, jobOptions.deadLetter());
  }
}
