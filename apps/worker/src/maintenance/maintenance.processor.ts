import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { JobName, JobPublisher, QueueName, jobOptions } from '@davpush/queue';
import { EventStore, FanoutLeaseStore, RegistrationStore } from '@davpush/storage';

/** The housekeeping schedules (BullMQ job schedulers: one run per interval however many workers). */
const SCHEDULES = [
  { id: 'sweep-expired', every: 60_000, name: JobName.SweepExpired },
  { id: 'recover-stranded', every: 15_000, name: JobName.RecoverStranded },
] as const;

/** How long after its lapse the lease of a fan-out that never claimed anything is dropped, ms. */
const UNCLAIMED_LEASE_GRACE_MS = 60_000;

/** How often a worker checks that the schedules still exist, ms. */
const SCHEDULE_CHECK_MS = 60_000;

/**
 * Housekeeping on a schedule:
 * - sweep expired registrations out of storage (they are never pushed either way: checked at send time);
 * - re-schedule topics whose events were stored but whose fan-out job was never added (a crash between
 *   the two writes, or a job lost with a Redis failover), so no accepted event is lost;
 * - resume, through a queued job, fan-outs run outside the queue whose lease lapsed (their process
 *   died: apps/worker/src/fan-out/in-process-fanout.ts).
 * The schedules are made at start and checked every minute: a Redis failover can lose the last
 * writes (replication is asynchronous, docs/durability.md), a schedule among them, and housekeeping
 * must not wait for the next restart of a worker to resume.
 */
@Injectable()
export class MaintenanceProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly registrations: RegistrationStore,
    private readonly events: EventStore,
    private readonly leases: FanoutLeaseStore,
    private readonly publisher: JobPublisher,
    @InjectQueue(QueueName.Maintenance) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Made (or updated) at start, whatever is there; afterwards only when missing, as re-making an
    // existing schedule would move its next run.
    for (const s of SCHEDULES) await this.schedule(s);
    this.timer = setInterval(() => {
      this.ensureSchedules().catch((err: Error) =>
        this.logger.warn({ msg: 'could not check the maintenance schedules', error: err.message }),
      );
    }, SCHEDULE_CHECK_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Makes again each housekeeping schedule that is gone (lost with a failover); returns how many. */
  async ensureSchedules(): Promise<number> {
    let made = 0;
    for (const s of SCHEDULES) {
      if (await this.queue.getJobScheduler(s.id)) continue;
      await this.schedule(s);
      made++;
      this.logger.warn({ msg: 'maintenance schedule was missing and is made again', schedule: s.id });
    }
    return made;
  }

  private async schedule(s: (typeof SCHEDULES)[number]): Promise<void> {
    await this.queue.upsertJobScheduler(
      s.id,
      { every: s.every },
      { name: s.name, data: {}, opts: jobOptions.maintenance() },
    );
  }

  /** Removes expired registrations; returns how many went. */
  async sweepExpired(): Promise<number> {
    const n = await this.registrations.sweepExpired();
    if (n) this.logger.log({ msg: 'expired registrations swept', count: n });
    return n;
  }

  /**
   * Re-schedules fan-out for topics with stored events but no fan-out job, and resumes fan-outs
   * whose lease lapsed unfinished (dropping the leases of finished ones); returns how many of both.
   */
  async recoverStranded(): Promise<number> {
    const stranded = await this.events.strandedTopics(this.config.coalesceMs * 2 + 30_000);
    for (const t of stranded) await this.publisher.scheduleFanout(t, true);
    if (stranded.length) this.logger.warn({ msg: 'stranded topics re-scheduled', count: stranded.length });
    let resumed = 0;
    for (const lease of await this.leases.lapsed()) {
      const state = await this.leases.stateOf(lease.dispatchId);
      if (state === 'unclaimed') {
        // Its process stopped between lease and claim (the events are pending: queued above once
        // stranded) or has only stalled there: a process that wakes takes its lease again at its
        // next renewal, so an unclaimed lease is dropped only once it lapsed long ago.
        if (lease.lapsedMs < UNCLAIMED_LEASE_GRACE_MS) continue;
        this.logger.warn({ msg: 'lease of a fan-out that claimed nothing dropped', dispatchId: lease.dispatchId });
      }
      if (state !== 'running') {
        await this.leases.dropLapsed(lease);
        continue;
      }
      // Dropped by a later sweep, once the resumed run completed; a job already queued for it is not added twice.
      await this.publisher.resumeFanout({ tenantId: lease.tenantId, topic: lease.topic, dispatchId: lease.dispatchId });
      resumed++;
    }
    if (resumed) this.logger.warn({ msg: 'fan-outs of a process that stopped resumed', count: resumed });
    return stranded.length + resumed;
  }
}
