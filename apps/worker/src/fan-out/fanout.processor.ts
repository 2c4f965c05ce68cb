import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobName, QueueName, type FanoutJobData } from '@davpush/queue';
import { FanoutService } from './fanout.service';

@Injectable()
export class FanoutProcessor {
  constructor(private readonly fanout: FanoutService) {}

  async process(job: Job<FanoutJobData>): Promise<{ queued: number; skipped: number }> {
    if (job.name !== JobName.Fanout) throw new Error(`unexpected job ${job.name} on ${QueueName.Fanout}`);
    // The BullMQ job id is unique per queue: it names the dispatch.
    return this.fanout.fanOut(`f${job.id}`, job.data);
  }
}
