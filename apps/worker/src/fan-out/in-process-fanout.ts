import { Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import { JobPublisher, LocalFanout, ShardedQueues, type FanoutJobData, type LocalFanoutRunner } from '@davpush/queue';
import { PushMetrics } from '@davpush/observability';
import { FanoutLeaseStore, dispatchIdFor, type LeasedFanout } from '@davpush/storage';
import { FanoutService } from './fanout.service';

/** In-process fan-outs in all (fanning out or waiting for their pushes) per DAVPUSH_FANOUT_CONCURRENCY. */
const WAITING_FACTOR = 4;

/**
 * Runs the fan-out of a leading or urgent change in the process that accepted it, without the
 * queue (LocalFanout, libs/queue/src/local-fanout.ts): no job to add, wake, move to active and
 * finish, which was most of an urgent event's Redis round trips and a fifth of its CPU (README
 * "Tests and benchmarks"). The fan-out is the same `FanoutService.fanOut` a queued job runs.
 *
 * Crash-safe as a queued job is: the events are parked in Redis before the API answers; the
 * dispatch's lease (FanoutLeaseStore) is taken before its claim and renewed every half
 * DAVPUSH_JOB_LOCK_MS while it runs. A process that dies before the claim leaves the events
 * pending (the stranded-topic sweep queues them); one that dies after leaves a lease that lapses
 * within DAVPUSH_JOB_LOCK_MS, and the sweep resumes the dispatch through a queued job, a re-run
 * (batches under their deterministic ids: nothing settled or handed off is sent again). A fan-out
 * that fails here is handed to the queue at once the same way.
 *
 * Taken only for a topic of a queue shard this process consumes (DAVPUSH_WORKER_SHARDS), while
 * fewer than DAVPUSH_FANOUT_CONCURRENCY fan out here, and not at all with
 * DAVPUSH_IN_PROCESS_FANOUT=false; otherwise the API queues the job as before. A fan-out whose
 * work is done and whose pushes only wait for their push service's turn (FanoutRun.onDelivering)
 * no longer counts against DAVPUSH_FANOUT_CONCURRENCY: a burst of small topics to one busy origin
 * waits in that origin's line (bounded there, InlineDelivery) instead of overflowing into jobs.
 * Fan-outs kept here in all, waiting ones included: at most WAITING_FACTOR times as many.
 */
@Injectable()
export class InProcessFanout implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(InProcessFanout.name);
  /** Fan-outs running here, by dispatch id: their leases, renewed together. */
  private readonly running = new Map<string, LeasedFanout>();
  /** Of those, fan-outs not yet down to waiting for their pushes: what DAVPUSH_FANOUT_CONCURRENCY bounds. */
  private fanningOut = 0;
  private readonly runs = new Set<Promise<void>>();
  private readonly lockMs: number;
  private readonly consumed: ReadonlySet<number>;
  private readonly runner: LocalFanoutRunner = (data) => this.start(data);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly local: LocalFanout,
    private readonly fanout: FanoutService,
    private readonly leases: FanoutLeaseStore,
    private readonly publisher: JobPublisher,
    private readonly shards: ShardedQueues,
    private readonly metrics: PushMetrics,
  ) {
    this.lockMs = config.delivery.jobLockMs;
    this.consumed = new Set(config.queues.consumed);
  }

  onApplicationBootstrap(): void {
    if (!this.config.inProcessFanout) return;
    this.local.attach(this.runner);
    this.timer = setInterval(() => this.renew(), Math.max(250, this.lockMs / 2)).unref();
  }

  /** No new fan-out starts here; those running finish (bounded by DAVPUSH_SHUTDOWN_TIMEOUT_MS, after which their leases lapse and the sweep resumes them). */
  async beforeApplicationShutdown(): Promise<void> {
    this.local.detach(this.runner);
    await Promise.allSettled(this.runs);
    clearInterval(this.timer);
  }

  private start(data: FanoutJobData): boolean {
    const slots = this.config.fanoutConcurrency;
    if (this.fanningOut >= slots || this.running.size >= WAITING_FACTOR * slots) return false;
    if (!this.consumed.has(this.shards.shardOf(data.tenantId, data.topic))) return false;
    const dispatchId = dispatchIdFor(data.tenantId, data.topic, `l${randomBytes(12).toString('base64url')}`);
    const lease: LeasedFanout = { tenantId: data.tenantId, topic: data.topic, dispatchId };
    this.running.set(dispatchId, lease);
    this.fanningOut++;
    let fanning = true;
    const slotBack = () => {
      if (!fanning) return;
      fanning = false;
      this.fanningOut--;
    };
    const run = this.run(data, lease, slotBack).finally(() => {
      slotBack();
      this.running.delete(dispatchId);
      this.runs.delete(run);
    });
    this.runs.add(run);
    return true;
  }

  private async run(data: FanoutJobData, lease: LeasedFanout, onDelivering: () => void): Promise<void> {
    const log = { dispatchId: lease.dispatchId, requestId: data.requestId };
    try {
      await this.leases.take(lease, this.lockMs);
      await this.fanout.fanOut(lease.dispatchId, data, { onDelivering });
      this.metrics.inProcessFanouts.inc({ result: 'completed' });
    } catch (err) {
      // Claimed or not: a queued re-run of the same dispatch takes what is pending or resumes what was claimed.
      try {
        await this.publisher.resumeFanout({ ...data, dispatchId: lease.dispatchId });
        this.metrics.inProcessFanouts.inc({ result: 'queued' });
        this.logger.warn({ msg: 'fan-out failed; handed to the queue', error: (err as Error).message, ...log });
      } catch (queueErr) {
        this.metrics.inProcessFanouts.inc({ result: 'left' });
        this.logger.error({
          msg: 'fan-out failed and could not be queued; the stranded sweep resumes it',
          error: (err as Error).message,
          queueError: (queueErr as Error).message,
          ...log,
        });
        return;
      }
    }
    // Complete, or in the queue's hands: the lease has served. Should this fail, it lapses, and the
    // sweep finds the dispatch finished and drops it.
    await this.leases
      .release(lease)
      .catch((err: Error) =>
        this.logger.warn({ msg: 'could not release a fan-out lease', error: err.message, ...log }),
      );
  }

  private renew(): void {
    if (this.running.size === 0) return;
    this.leases
      .renew([...this.running.values()], this.lockMs)
      .catch((err: Error) => this.logger.warn({ msg: 'could not renew fan-out leases', error: err.message }));
  }
}
