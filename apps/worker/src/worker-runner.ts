import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { MetricsTime, Worker, type WorkerOptions } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { QUEUE_PREFIX, QueueName, bullConnection } from '@davpush/queue';
import { connectionErrors } from '@davpush/storage';
import { JobHandlers, type ConsumedQueue } from './job-handlers';

/**
 * Starts one BullMQ Worker per queue with options from the validated config (decorator options
 * are fixed at import time, before config exists). Stalled-job recovery is what makes SIGKILL
 * safe: a job whose lock lapses is handed to another worker, and its deterministic ids keep
 * that re-run from sending twice what already went.
 */
@Injectable()
export class WorkerRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerRunner.name);
  private readonly workers: Worker[] = [];

  constructor(
    private readonly config: AppConfig,
    private readonly handlers: JobHandlers,
  ) {}

  onApplicationBootstrap(): void {
    const lock = this.config.delivery.jobLockMs;
    const base: WorkerOptions = {
      connection: bullConnection(this.config),
      prefix: QUEUE_PREFIX,
      lockDuration: lock,
      stalledInterval: lock,
      // A job interrupted by crashes is re-run, not failed: it is ours to deliver.
      maxStalledCount: 20,
      // Per-minute completed/failed counts for /v1/admin/queues and the dashboard (a week kept).
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    };
    const start = (queue: ConsumedQueue, concurrency: number) => {
      const w = new Worker(queue, this.handlers.processorFor(queue), { ...base, concurrency });
      w.on('error', (err) => connectionErrors.report(`worker ${queue}`, err));
      w.on('failed', (job, err) => {
        if (err?.name !== 'DelayedError') this.logger.error({ msg: 'job failed', queue, jobId: job?.id, error: err?.message });
      });
      this.workers.push(w);
    };
    start(QueueName.Fanout, this.config.fanoutConcurrency);
    start(QueueName.DeliverWebPush, this.config.worker.concurrency);
    start(QueueName.DeliverFcm, this.config.worker.concurrency);
    start(QueueName.Maintenance, 1);
  }

  /** In-flight jobs finish; whatever outlives DAVPUSH_SHUTDOWN_TIMEOUT_MS returns to the queue via its lapsed lock. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
