import { Injectable } from '@nestjs/common';
import type { JobName, TypedJob } from '@davpush/queue';
import { dispatchIdFor } from '@davpush/storage';
import { FanoutService } from './fanout.service';

@Injectable()
export class FanoutProcessor {
  constructor(private readonly fanout: FanoutService) {}

  async process(job: TypedJob<JobName.Fanout>): Promise<{ queued: number; skipped: number }> {
    // The BullMQ job id is unique per queue: it names the dispatch (after its topic's hash tag, see
    // dispatchIdFor). A job retried or taken over from a worker that died is a re-run.
    return this.fanout.fanOut(dispatchIdFor(job.data.tenantId, job.data.topic, `f${job.id}`), job.data, job.attemptsMade > 0 || job.stalledCounter > 0);
  }
}
