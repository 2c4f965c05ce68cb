import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import {
  decideDelivery,
  type DeliveryOutcome,
  type DeliveryPolicies,
  type Registration,
  type Transport,
} from '@davpush/domain';
import { PushMetrics, redact } from '@davpush/observability';
import { JobPublisher, deliverQueueFor, type DeliverJobData } from '@davpush/queue';
import { DeliveryLedger, type DeliverySettlement } from '@davpush/storage';

/** What the processor must do with the job after one attempt. */
export type DeliveryStep =
  | { done: 'accepted' | 'gone' | 'skipped' | 'failed'; outcome?: DeliveryOutcome }
  | { retryAt: number; outcome?: DeliveryOutcome; countsAsAttempt: boolean };

/**
 * What one delivery's outcome means, written once: the pure decision (`decideDelivery`,
 * libs/domain/src/delivery-decision.ts) turned into settlement, pruning, a dead letter or a retry
 * time, with its metrics and logs (README "Delivery semantics").
 */
@Injectable()
export class DeliveryOutcomes {
  private readonly logger = new Logger(DeliveryOutcomes.name);
  private readonly policies: DeliveryPolicies;
  /** DAVPUSH_LOG_LEVEL debug or verbose: one line per accepted push. */
  private readonly debug: boolean;

  constructor(
    config: AppConfig,
    private readonly ledger: DeliveryLedger,
    private readonly publisher: JobPublisher,
    private readonly metrics: PushMetrics,
  ) {
    this.debug = config.log.level === 'debug' || config.log.level === 'verbose';
    this.policies = {
      retry: { baseDelayMs: config.delivery.retryBaseMs, maxDelayMs: config.delivery.retryMaxMs, maxAttempts: 25 },
      prune: {
        minConsecutiveFailures: config.delivery.pruneAfterFailures,
        minSilenceMs: config.delivery.pruneAfterSeconds * 1000,
      },
    };
  }

  /** One push service answer → what happened (settled, pruned, dead-lettered) or when to try again. */
  async handle(job: DeliverJobData, reg: Registration, outcome: DeliveryOutcome, now: number): Promise<DeliveryStep> {
    // The registration id is a capability (its URL deletes it): logs carry its hash. Made only for
    // a line that is written (an accepted push, the common case, logs at debug).
    const log = () => ({
      dispatchId: job.dispatchId,
      registration: redact(reg.id),
      transport: reg.subscription.type,
      outcome: outcome.kind,
      requestId: job.requestId,
    });
    const reason = outcome.kind === 'accepted' ? undefined : outcome.reason;
    // A failure is counted on the registration first: the decision reads the failure window from it.
    const failed = outcome.kind === 'throttled' || outcome.kind === 'transient';
    const record = failed ? await this.ledger.recordFailure(reg.id, now) : undefined;
    const decision = decideDelivery(
      outcome,
      record,
      { attempt: job.attempt ?? 0, deadline: job.deadline },
      now,
      this.policies,
    );
    switch (decision.action) {
      case 'accepted':
        await this.settle(job, reg.id, { bucket: 'accepted' });
        this.metrics.endToEnd.observe({ transport: reg.subscription.type }, (now - job.acceptedAt) / 1000);
        if (this.debug) this.logger.debug({ msg: 'delivered', ...log() });
        return { done: 'accepted', outcome };
      case 'prune':
        await this.settle(job, reg.id, { bucket: 'gone', prune: reg.subscription }, now);
        this.metrics.prunes.inc({ transport: reg.subscription.type, reason: decision.reason });
        if (decision.reason === 'gone') this.logger.log({ msg: 'registration pruned', reason, ...log() });
        else
          this.logger.log({
            msg: 'registration pruned after repeated failures',
            failures: record?.consecutiveFailures,
            ...log(),
          });
        return { done: 'gone', outcome };
      case 'dead-letter':
        // Refused (the message or our credentials are at fault) or out of attempts/TTL: never pruned.
        if (!failed) this.logger.warn({ msg: 'delivery refused', reason, ...log() });
        return this.giveUp(job, reg.subscription.type, decision.reason, outcome);
      case 'retry-at':
        this.metrics.retries.inc({ transport: reg.subscription.type, outcome: outcome.kind });
        this.logger.log({ msg: 'delivery will be retried', reason, retryInMs: decision.at - now, ...log() });
        return { retryAt: decision.at, outcome, countsAsAttempt: true };
    }
  }

  /** Dead-letters the delivery (replayable) and settles it as failed. */
  async giveUp(
    job: DeliverJobData,
    transport: Transport,
    reason: string,
    outcome?: DeliveryOutcome,
  ): Promise<Extract<DeliveryStep, { done: string }>> {
    await this.publisher.deadLetter({
      queue: deliverQueueFor(transport),
      transport,
      reason,
      delivery: job,
      failedAt: Date.now(),
    });
    await this.settle(job, job.registrationId, { bucket: 'failed' });
    this.metrics.deadLetters.inc({ transport, reason: outcome?.kind ?? 'expired' });
    this.logger.warn({
      msg: 'dead-lettered',
      reason,
      dispatchId: job.dispatchId,
      registration: redact(job.registrationId),
      requestId: job.requestId,
    });
    return { done: 'failed', outcome };
  }

  /** A replayed dead letter was settled in its dispatch already: only its registration learns the result. */
  settle(job: DeliverJobData, registrationId: string, settlement: DeliverySettlement, now = Date.now()): Promise<void> {
    return job.replay
      ? this.ledger.settleReplay(registrationId, settlement, now)
      : this.ledger.settle(job.dispatchId, registrationId, settlement, now);
  }
}
