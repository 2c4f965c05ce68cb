import { Injectable } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { JobName, QueueName, queueKindOf, type TypedJob } from '@davpush/queue';
import { DeliveryService, type DeliveryStep } from './delivery.service';

/**
 * Runs a batch (a retry is a batch of one, queued by the delivery service for its own time), or
 * a single delivery (a replayed dead letter), whose retry is this job moved to the delayed set
 * until its own time (`moveToDelayed` + DelayedError). Either way a 429 from one endpoint delays
 * that delivery only, never the queue (BullMQ's queue.rateLimit would pause every endpoint).
 */
@Injectable()
export class DeliverProcessor {
  constructor(private readonly delivery: DeliveryService) {}

  async process(job: TypedJob<JobName.Deliver> | TypedJob<JobName.DeliverBatch>, token?: string): Promise<DeliveryStep | undefined> {
    try {
      if (job.name === JobName.DeliverBatch) {
        await this.delivery.attemptBatch(job.data, job.id ?? '');
        return undefined;
      }
      return await this.single(job, token);
    } catch (err) {
      if (err instanceof DelayedError || job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw err;
      // Last attempt: nothing may stay owed in silence (dead letters can be replayed).
      const transport = queueKindOf(job.queueName) === QueueName.DeliverFcm ? 'fcm' : 'web-push';
      if (job.name === JobName.DeliverBatch) {
        const { registrationIds, ...common } = job.data;
        await this.delivery.abandon(transport, registrationIds.map((registrationId) => ({ ...common, registrationId })), (err as Error).message, job.id ?? '');
      } else {
        await this.delivery.abandon(transport, [job.data], (err as Error).message);
      }
      throw err;
    }
  }

  private async single(job: TypedJob<JobName.Deliver>, token?: string): Promise<DeliveryStep> {
    const step = await this.delivery.attempt(job.data);
    if ('retryAt' in step) {
      if (step.countsAsAttempt) await job.updateData({ ...job.data, attempt: (job.data.attempt ?? 0) + 1 });
      await job.moveToDelayed(step.retryAt, token);
      throw new DelayedError();
    }
    return step;
  }
}
