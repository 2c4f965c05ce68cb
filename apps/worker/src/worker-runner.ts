import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { MetricsTime, Worker, type WorkerOptions } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { QueueName, bullConnection, physicalQueue } from '@davpush/queue';
import { connectionErrors } from '@davpush/storage';
import { JobHandlers, type ConsumedQueue } from './job-handlers';

/**
 * Starts one BullMQ Worker per queue with options from the validated config (decorator options
 * are fixed at import time, before config exists): the maintenance queue, and the fan-out and
 * delivery queues of each shard this process consumes (DAVPUSH_WORKER_SHARDS, default all).
 * Stalled-job recovery is what makes SIGKILL safe: a job whose lock lapses is handed to another
 * worker of its shard, and its deterministic ids keep that re-run from sending twice what already went.
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
      lockDuration: lock,
      stalledInterval: lock,
      // A job interrupted by crashes is re-run, not failed: it is ours to deliver.
      maxStalledCount: 20,
      // Per-minute completed/failed counts for /v1/admin/queues and the dashboard (a week kept).
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    };
    const { shards, consumed } = this.config.queues;
    const start = (kind: ConsumedQueue, shard: number, concurrency: number) => {
      const { name: queue, prefix } = physicalQueue(kind, shard, shards);
      const w = new Worker(queue, this.handlers.processorFor(kind), { ...base, prefix, concurrency });
      w.on('error', (err) => connectionErrors.report(`worker ${queue}`, err));
      w.on('failed', (job, err) => {
        if (err?.name !== 'DelayedError')
          this.logger.error({ msg: 'job failed', queue, jobId: job?.id, error: err?.message });
      });
      this.workers.push(w);
    };
    // The process's concurrency is shared by the shards it consumes (each at least 1), so adding
    // shards does not multiply the sockets and memory a worker process uses.
    const share = (n: number) => Math.max(1, Math.ceil(n / consumed.length));
    for (const shard of consumed) {
      start(QueueName.Fanout, shard, share(this.config.fanoutConcurrency));
      start(QueueName.DeliverWebPush, shard, share(this.config.worker.concurrency));
      start(QueueName.DeliverFcm, shard, share(this.config.worker.concurrency));
    }
    start(QueueName.Maintenance, 0, 1);
  }

  /** In-flight jobs finish; whatever outlives DAVPUSH_SHUTDOWN_TIMEOUT_MS returns to the queue via its lapsed lock. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
