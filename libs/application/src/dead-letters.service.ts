import { Injectable } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { JobPublisher, QueueName, type DeadLetterJobData } from '@davpush/queue';

export interface DeadLetterView {
  id: string;
  failedAt: string;
  reason: string;
  transport: string;
  tenantId: string;
  topic: string;
  registrationId: string;
  dispatchId: string;
}

/**
 * The dead-letter queue: deliveries that can never go or ran out of TTL, kept with their reason.
 * Nothing consumes it; operators list and replay (`GET /v1/admin/dlq`, `davpush dlq replay`).
 */
@Injectable()
export class DeadLetterService {
  constructor(
    private readonly publisher: JobPublisher,
    private readonly config: AppConfig,
  ) {}

  private get queue() {
    return this.publisher.queue(QueueName.DeadLetter);
  }

  async count(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  async list(limit = 100): Promise<DeadLetterView[]> {
    const jobs = await this.queue.getJobs(['waiting'], 0, Math.max(0, Math.min(limit, 1000) - 1), true);
    return jobs.filter(Boolean).map((j) => {
      const d = j.data as DeadLetterJobData;
      return {
        id: j.id!,
        failedAt: new Date(d.failedAt).toISOString(),
        reason: d.reason,
        transport: d.transport,
        tenantId: d.delivery.tenantId,
        topic: d.delivery.topic,
        registrationId: d.delivery.registrationId,
        dispatchId: d.delivery.dispatchId,
      };
    });
  }

  /**
   * Sends dead letters again with a fresh TTL (the default; their original one has usually passed)
   * and a fresh attempt count, then removes them from the dead-letter queue. No ids: up to 1000.
   * Each goes back as a batch of one on its transport's queue, named after the dead letter, marked
   * `replay`: it is sent once more although its dispatch settled it (as failed), and what happens
   * to it then is recorded on the registration (success, pruning, a new dead letter) but not counted
   * in the dispatch again, so the event's status still reads as it ended (`failed` for this delivery).
   */
  async replay(ids?: readonly string[]): Promise<{ replayed: number; missing: string[] }> {
    const jobs = ids?.length
      ? await Promise.all(ids.map((id) => this.queue.getJob(id)))
      : await this.queue.getJobs(['waiting'], 0, 999, true);
    const missing = ids?.filter((_, i) => !jobs[i]) ?? [];
    const now = Date.now();
    let replayed = 0;
    for (const job of jobs) {
      if (!job) continue;
      const d = job.data as DeadLetterJobData;
      const { registrationId, ...delivery } = d.delivery;
      const batch = {
        ...delivery,
        registrationIds: [registrationId],
        attempt: 0,
        deadline: now + this.config.defaultTtlSeconds * 1000,
        replay: true,
      };
      await this.publisher.deliverBatchAt(d.transport, batch, now, `r${job.id}`);
      await job.remove();
      replayed++;
    }
    return { replayed, missing };
  }
}
