import { Injectable } from '@nestjs/common';
import { dispatchIdOf, type JobName, type TypedJob } from '@davpush/queue';
import { dispatchIdFor } from '@davpush/storage';
import { FanoutService } from './fanout.service';

@Injectable()
export class FanoutProcessor {
  constructor(private readonly fanout: FanoutService) {}

  async process(job: TypedJob<JobName.Fanout>): Promise<{ queued: number; skipped: number }> {
    // A resume queued under this job name by a82f9da (resume-fanout since): its own dispatch.
    const legacy = (job.data as { dispatchId?: unknown }).dispatchId;
    if (typeof legacy === 'string') return this.fanout.fanOut(legacy, job.data, { rerun: true });
    // The job id (random, see jobOptions.fanout) with the shard names the dispatch, after its topic's
    // hash tag (dispatchIdFor). A job retried or taken over from a worker that died is a re-run.
    const name = dispatchIdOf(job.queueName, job.id ?? '');
    return this.fanout.fanOut(dispatchIdFor(job.data.tenantId, job.data.topic, name), job.data, {
      rerun: job.attemptsMade > 0 || job.stalledCounter > 0,
    });
  }

  /** A fan-out begun outside the queue (JobPublisher.resumeFanout): its own dispatch, always a re-run. */
  async resume(job: TypedJob<JobName.ResumeFanout>): Promise<{ queued: number; skipped: number }> {
    return this.fanout.fanOut(job.data.dispatchId, job.data, { rerun: true });
  }
}
