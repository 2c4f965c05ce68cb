import { Injectable, Logger } from '@nestjs/common';
import { coalesce, kindsFor, type Transport } from '@davpush/domain';
import { JobPublisher, type DeliverJobData, type FanoutJobData } from '@davpush/queue';
import { FCM_MAX_BATCH_SIZE } from '@davpush/gateways';
import { EventStore, RegistrationStore } from '@davpush/storage';

const PAGE = 1000;

/**
 * Coalesced change of one topic → one delivery job per live registration that wants it.
 * Crash-safe by construction: the claim is idempotent per dispatch id, and delivery jobs have
 * deterministic ids, so a re-run after SIGKILL re-queues only what is missing.
 */
@Injectable()
export class FanoutService {
  private readonly logger = new Logger(FanoutService.name);

  constructor(
    private readonly events: EventStore,
    private readonly registrations: RegistrationStore,
    private readonly publisher: JobPublisher,
  ) {}

  async fanOut(dispatchId: string, job: FanoutJobData): Promise<{ queued: number; skipped: number }> {
    const claimed = await this.events.claim(job.tenantId, job.topic, dispatchId);
    const change = coalesce(claimed);
    if (!change) return { queued: 0, skipped: 0 };
    const skip = change.dontNotify === '*' ? undefined : new Set(change.dontNotify);
    const acceptedAt = Math.min(...claimed.map((e) => e.receivedAt));
    let queued = 0;
    let skipped = 0;
    let cursor: number | undefined = 0;
    let batchIndex = 0;
    // Linked at once (status "dispatching"); "done" only once the fan-out is complete.
    await this.events.markDispatched(dispatchId, claimed, 0, 0, false);
    while (cursor !== undefined) {
      const page = await this.registrations.liveTargets(job.tenantId, job.topic, cursor, PAGE);
      const byTransport = new Map<Transport, DeliverJobData[]>();
      for (const target of page.targets) {
        const kinds = kindsFor(target.trigger, change.changes);
        if (!skip || skip.has(target.id) || kinds.length === 0) {
          skipped++;
          continue;
        }
        const list = byTransport.get(target.transport) ?? [];
        list.push({
          dispatchId,
          registrationId: target.id,
          tenantId: job.tenantId,
          topic: job.topic,
          kinds,
          syncToken: change.syncToken,
          urgency: change.urgency,
          deadline: change.deadline,
          acceptedAt,
          requestId: job.requestId,
        });
        byTransport.set(target.transport, list);
        queued++;
      }
      // The running total is written before the jobs exist, so status never reads "done" too early.
      await this.events.markDispatched(dispatchId, claimed, queued, skipped, false);
      for (const [transport, jobs] of byTransport) {
        // Web Push: a job per registration, so every push gets its own origin gate, retry and lock.
        if (transport === 'web-push') {
          for (let i = 0; i < jobs.length; i += 500) await this.publisher.deliver(transport, jobs.slice(i, i + 500));
          continue;
        }
        // FCM takes up to 500 messages per sendEach: a job per batch. A batch carries one message,
        // so registrations whose triggers select different kinds go into different batches.
        const byKinds = new Map<string, DeliverJobData[]>();
        for (const j of jobs) byKinds.set(j.kinds.join(','), [...(byKinds.get(j.kinds.join(',')) ?? []), j]);
        const batches = [];
        for (const group of byKinds.values()) {
          for (let i = 0; i < group.length; i += FCM_MAX_BATCH_SIZE) {
            const chunk = group.slice(i, i + FCM_MAX_BATCH_SIZE);
            const { registrationId: _first, ...common } = chunk[0]!;
            batches.push({ ...common, registrationIds: chunk.map((j) => j.registrationId) });
          }
        }
        for (let i = 0; i < batches.length; i += 200) await this.publisher.deliverBatches(transport, batches.slice(i, i + 200), batchIndex + i);
        batchIndex += batches.length;
      }
      cursor = page.next;
    }
    await this.events.markDispatched(dispatchId, claimed, queued, skipped, true);
    this.logger.log({ msg: 'fan-out', dispatchId, events: claimed.length, queued, skipped, requestId: job.requestId });
    return { queued, skipped };
  }
}
