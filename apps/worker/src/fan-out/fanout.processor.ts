import { Injectable } from '@nestjs/common';
import { dispatchIdOf, type JobName, type TypedJob } from '@davpush/queue';
import { dispatchIdFor } from '@davpush/storage';
import { FanoutService } from './fanout.service';

@Injectable()
export class FanoutProcessor {
  constructor(private readonly fanout: FanoutService) {}

  async process(job: TypedJob<JobName.Fanout>): Promise<{ queued: number; skipped: number }> {
    // A resumed fan-out names its dispatch (JobPublisher.resumeFanout): always a re-run. Otherwise
    // the job id (random, see jobOptions.fanout) with the shard names the dispatch, after its topic's
    // hash tag (dispatchIdFor); a job retried or taken over from a worker that died is a re-run.
    if (job.data.dispatchId) return this.fanout.fanOut(job.data.dispatchId, job.data, true);
    const name = dispatchIdOf(job.queueName, job.id ?? '');
    return this.fanout.fanOut(
      dispatchIdFor(job.data.tenantId, job.data.topic, name),
      job.data,
      job.attemptsMade > 0 || job.stalledCounter > 0,
    );
  }
}
