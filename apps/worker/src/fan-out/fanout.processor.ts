import { Injectable } from '@nestjs/common';
import { dispatchIdOf, type JobName, type TypedJob } from '@davpush/queue';
import { FanoutService } from './fanout.service';

@Injectable()
export class FanoutProcessor {
  constructor(private readonly fanout: FanoutService) {}

  async process(job: TypedJob<JobName.Fanout>): Promise<{ queued: number; skipped: number }> {
    // The job id (random, see jobOptions.fanout) with the shard names the dispatch.
    return this.fanout.fanOut(dispatchIdOf(job.queueName, job.id ?? ''), job.data);
  }
}
