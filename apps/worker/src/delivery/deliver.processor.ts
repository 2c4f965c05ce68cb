import { Injectable } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { JobName, QueueName, queueKindOf, type DeliverBatchJobData, type TypedJob } from '@davpush/queue';
import { DeliveryService } from './delivery.service';

/**
 * Runs a delivery batch: a dispatch's pushes to one route, a retry (a batch of one carrying its
 * attempt, queued by the delivery service for its own time) or a replayed dead letter (a batch of
 * one). A 429 from one endpoint delays that delivery only, never the queue (BullMQ's
 * queue.rateLimit would pause every endpoint).
 */
@Injectable()
export class DeliverProcessor {
  constructor(private readonly delivery: DeliveryService) {}

  async process(job: TypedJob<JobName.Deliver> | TypedJob<JobName.DeliverBatch>): Promise<void> {
    const batch = asBatch(job);
    try {
      await this.delivery.attemptBatch(batch, job.id ?? '');
    } catch (err) {
      if (err instanceof DelayedError || job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
      // Last attempt: nothing may stay owed in silence (dead letters can be replayed).
      const transport = queueKindOf(job.queueName) === QueueName.DeliverFcm ? 'fcm' : 'web-push';
      const { registrationIds, route: _route, ...common } = batch;
      await this.delivery.abandon(
        transport,
        registrationIds.map((registrationId) => ({ ...common, registrationId })),
        (err as Error).message,
        job.id ?? '',
      );
      throw err;
    }
  }
}

/**
 * A single-delivery job (`JobName.Deliver`) is only found in a queue written by an older version,
 * which published replayed dead letters that way: it runs as a batch of one carrying its attempt.
 */
function asBatch(job: TypedJob<JobName.Deliver> | TypedJob<JobName.DeliverBatch>): DeliverBatchJobData {
  if (job.name === JobName.DeliverBatch) return job.data;
  const { registrationId, ...common } = job.data;
  return { ...common, registrationIds: [registrationId] };
}
