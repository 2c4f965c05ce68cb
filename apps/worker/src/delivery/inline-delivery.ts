import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { OriginGate } from '@davpush/gateways';
import { JobPublisher, jobOptions, type DeliverBatchJobData } from '@davpush/queue';
import type { Registration } from '@davpush/domain';
import { DeliveryService } from './delivery.service';

/** One Web Push batch of a fan-out and the push-service origin it goes to. */
export interface RoutedBatch {
  batch: DeliverBatchJobData;
  origin: string;
}

/**
 * A small fan-out (at most one batch's worth of Web Push registrations) delivered inside its
 * fan-out job, without a second trip through the queue: the batch runs exactly as its batch job
 * would (`DeliveryService.attemptBatch` under the job id it would have had), so settlement,
 * hand-offs, retries as batches of one and dead letters are the same, and a crash mid-way is healed
 * the same way (the fan-out re-run queues the batch under that id, which sends only what is neither
 * settled nor handed off).
 *
 * Only for an origin known to answer (OriginGate.answering: circuit closed, nothing left
 * unanswered; busy is fine: its slots free in milliseconds); a hanging or failing push service gets
 * its batches queued. How long a batch may wait for its origin's turn (BatchTickets) depends on
 * what it holds while it waits:
 * - a fan-out job holds a worker slot: at most half the fan-out slots per origin deliver inline at
 *   once, and only a batch whose turn comes at once; one that would wait behind others (a big
 *   fan-out to the same origin) waits in the queue, so a busy origin cannot hold the slots other
 *   topics need;
 * - an in-process fan-out gave its slot back (`waitsInLine`, FanoutRun.onDelivering): its batch
 *   waits in the origin's line while that line is short (DeliveryService.lineHasRoom: about two
 *   seconds of the origin's answers, at most 8 turns) and fewer than twice DAVPUSH_FANOUT_CONCURRENCY
 *   fan-outs wait on that origin: a burst of small topics to one busy origin flows at the origin's
 *   pace without a job per topic, and only what overflows the line is queued.
 */
@Injectable()
export class InlineDelivery {
  private readonly logger = new Logger(InlineDelivery.name);
  /** Fan-out jobs delivering inline now, per origin. */
  private readonly active = new Map<string, number>();
  private readonly perOrigin: number;
  /** In-process fan-outs waiting in an origin's line now, per origin. */
  private readonly waiting = new Map<string, number>();
  private readonly waitingPerOrigin: number;

  constructor(
    config: AppConfig,
    private readonly delivery: DeliveryService,
    private readonly gate: OriginGate,
    private readonly publisher: JobPublisher,
  ) {
    this.perOrigin = Math.max(1, Math.floor(config.fanoutConcurrency / 2));
    this.waitingPerOrigin = 2 * config.fanoutConcurrency;
  }

  /**
   * Delivers each batch here if its origin answers (and has room: see the class), with
   * `registrations` as the fan-out read them (by id), otherwise queues it (as does an unexpected
   * error on the way: the batch job's own attempts take over). `waitsInLine`: the caller holds no
   * fan-out slot while its batches wait for their origin's turn. Resolves once every push is settled,
   * handed off or queued; rejects only if queuing failed (the fan-out is then retried).
   */
  async deliver(
    batches: readonly RoutedBatch[],
    registrations: ReadonlyMap<string, Registration>,
    waitsInLine = false,
  ): Promise<number> {
    const queued: DeliverBatchJobData[] = [];
    let inline = 0;
    await Promise.all(
      batches.map(async ({ batch, origin }) => {
        const release = waitsInLine ? this.inLine(origin, batch) : this.take(origin, batch);
        if (!release) return void queued.push(batch);
        inline++;
        try {
          await this.delivery.attemptBatch(batch, batchJobId(batch), Date.now(), { registrations });
        } catch (err) {
          this.logger.warn({
            msg: 'inline delivery failed; the batch goes to the queue',
            dispatchId: batch.dispatchId,
            error: (err as Error).message,
            requestId: batch.requestId,
          });
          queued.push(batch);
        } finally {
          release();
        }
      }),
    );
    await this.publisher.deliverBatches('web-push', queued);
    return inline;
  }

  /**
   * For a caller that holds no slot while it waits: the origin answers, its line here has room
   * (DeliveryService.lineHasRoom: about two seconds of its answers at most), and fewer than twice
   * DAVPUSH_FANOUT_CONCURRENCY fan-outs wait on it (half of what InProcessFanout keeps in all).
   */
  private inLine(origin: string, batch: DeliverBatchJobData): (() => void) | undefined {
    const n = this.waiting.get(origin) ?? 0;
    if (n >= this.waitingPerOrigin || !this.gate.answering(origin)) return undefined;
    const pushes = batch.registrationIds.length;
    if (batch.route && !this.delivery.lineHasRoom(batch.route, pushes, this.gate.answersPerSecond(origin)))
      return undefined;
    return this.count(this.waiting, origin);
  }

  private take(origin: string, batch: DeliverBatchJobData): (() => void) | undefined {
    const n = this.active.get(origin) ?? 0;
    if (n >= this.perOrigin || !this.gate.answering(origin)) return undefined;
    // Only a batch whose turn comes at once: one that would wait behind others (a big fan-out to
    // the same origin) waits in the queue, not in a fan-out slot.
    if (batch.route && !this.delivery.hasTurnNow(batch.route, batch.registrationIds.length)) return undefined;
    return this.count(this.active, origin);
  }

  /** One more for `origin` in `counts`, until the returned function is called. */
  private count(counts: Map<string, number>, origin: string): () => void {
    counts.set(origin, (counts.get(origin) ?? 0) + 1);
    return () => {
      const left = (counts.get(origin) ?? 1) - 1;
      if (left > 0) counts.set(origin, left);
      else counts.delete(origin);
    };
  }
}

/** The id the batch's job has when queued (JobPublisher.deliverBatches): its hand-offs are recorded under it. */
export const batchJobId = (batch: DeliverBatchJobData): string =>
  jobOptions.deliverBatch(batch.dispatchId, batch.registrationIds).jobId!;
