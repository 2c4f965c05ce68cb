import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { JobName, JobPublisher, QueueName, jobOptions } from '@davpush/queue';
import { EventStore, RegistrationStore } from '@davpush/storage';

/**
 * Housekeeping on a schedule (BullMQ job schedulers, so one run per interval however many workers):
 * - sweep expired registrations out of storage (they are never pushed either way: checked at send time);
 * - re-schedule topics whose events were stored but whose fan-out job was never added (a crash between
 *   the two writes), so no accepted event is lost.
 */
@Injectable()
export class MaintenanceProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly config: AppConfig,
    private readonly registrations: RegistrationStore,
    private readonly events: EventStore,
    private readonly publisher: JobPublisher,
    @InjectQueue(QueueName.Maintenance) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const opts = jobOptions.maintenance();
    await this.queue.upsertJobScheduler(
      'sweep-expired',
      { every: 60_000 },
      { name: JobName.SweepExpired, data: {}, opts },
    );
    await this.queue.upsertJobScheduler(
      'recover-stranded',
      { every: 15_000 },
      { name: JobName.RecoverStranded, data: {}, opts },
    );
  }

  /** Removes expired registrations; returns how many went. */
  async sweepExpired(): Promise<number> {
    const n = await this.registrations.sweepExpired();
    if (n) this.logger.log({ msg: 'expired registrations swept', count: n });
    return n;
  }

  /** Re-schedules fan-out for topics with stored events but no fan-out job; returns how many. */
  async recoverStranded(): Promise<number> {
    const stranded = await this.events.strandedTopics(this.config.coalesceMs * 2 + 30_000);
    for (const t of stranded) await this.publisher.scheduleFanout(t, true);
    if (stranded.length) this.logger.warn({ msg: 'stranded topics re-scheduled', count: stranded.length });
    return stranded.length;
  }
}
