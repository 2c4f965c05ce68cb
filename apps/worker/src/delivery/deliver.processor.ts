import { Injectable } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import { JobName, type DeliverBatchJobData, type DeliverJobData } from '@davpush/queue';
import { DeliveryService, type DeliveryStep } from './delivery.service';

/**
 * Runs one delivery attempt. A retry is this job moved to the delayed set until its own time
 * (`moveToDelayed` + DelayedError): a 429 from one endpoint delays that delivery only, never the
 * queue (BullMQ's queue.rateLimit would pause every endpoint).
 */
@Injectable()
export class DeliverProcessor {
  constructor(private readonly delivery: DeliveryService) {}

  async process(job: Job<DeliverJobData | DeliverBatchJobData>, token?: string): Promise<DeliveryStep | undefined> {
    if (job.name === JobName.DeliverBatch) {
      await this.delivery.attemptBatch(job.data as DeliverBatchJobData, job.id ?? '');
      return undefined;
    }
    return this.single(job as Job<DeliverJobData>, token);
  }

  private async single(job: Job<DeliverJobData>, token?: string): Promise<DeliveryStep> {
    const step = await this.delivery.attempt(job.data);
    if ('retryAt' in step) {
      if (step.countsAsAttempt) await job.updateData({ ...job.data, attempt: (job.data.attempt ?? 0) + 1 });
      await job.moveToDelayed(step.retryAt, token);
      throw new DelayedError();
    }
    return step;
  }
}
