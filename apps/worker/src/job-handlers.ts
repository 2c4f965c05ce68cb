import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { JobName, QueueName, type JobHandler, type JobHandlerMap, type QueueJobs } from '@davpush/queue';
import { DeliverProcessor } from './delivery/deliver.processor';
import { FanoutProcessor } from './fan-out/fanout.processor';
import { MaintenanceProcessor } from './maintenance/maintenance.processor';

/** The queues a worker consumes, each with the job names it accepts (checked against `QueueJobs`). */
const CONSUMED_QUEUES = {
  [QueueName.Fanout]: [JobName.Fanout, JobName.ResumeFanout],
  [QueueName.DeliverWebPush]: [JobName.Deliver, JobName.DeliverBatch],
  [QueueName.DeliverFcm]: [JobName.Deliver, JobName.DeliverBatch],
  [QueueName.Maintenance]: [JobName.SweepExpired, JobName.RecoverStranded],
} as const satisfies { [Q in Exclude<QueueName, QueueName.DeadLetter>]: readonly QueueJobs[Q][] };

export type ConsumedQueue = keyof typeof CONSUMED_QUEUES;

/**
 * The worker's routing table: job name → handler. `JobHandlerMap` makes the compiler require one
 * handler per consumed {@link JobName}, each typed with its own payload (`TypedJob<N>`).
 */
@Injectable()
export class JobHandlers {
  readonly byName: JobHandlerMap;

  constructor(fanout: FanoutProcessor, deliver: DeliverProcessor, maintenance: MaintenanceProcessor) {
    this.byName = {
      [JobName.Fanout]: (job) => fanout.process(job),
      [JobName.ResumeFanout]: (job) => fanout.resume(job),
      // Only queued by older versions (a replayed dead letter): run as a batch of one.
      [JobName.Deliver]: (job) => deliver.process(job),
      [JobName.DeliverBatch]: (job) => deliver.process(job),
      [JobName.SweepExpired]: () => maintenance.sweepExpired(),
      [JobName.RecoverStranded]: () => maintenance.recoverStranded(),
    };
  }

  /**
   * The BullMQ processor of one queue. A job read back from Redis is untyped; this is the one place
   * its name is trusted to select its payload type. A name the queue does not carry fails the job.
   */
  processorFor(queue: ConsumedQueue): (job: Job) => Promise<unknown> {
    const accepted: readonly JobName[] = CONSUMED_QUEUES[queue];
    return (job) => {
      const name = job.name as Exclude<JobName, JobName.DeadLetter>;
      if (!accepted.includes(name)) return Promise.reject(new Error(`unexpected job ${job.name} on ${queue}`));
      const handler = this.byName[name] as JobHandler<typeof name>;
      return handler(job as Parameters<typeof handler>[0]);
    };
  }
}
