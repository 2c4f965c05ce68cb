import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '@davpush/config';
import { type DeliveryOutcome, type Registration, type Transport, ValidationError } from '@davpush/domain';
import {
  ORIGIN_BUSY,
  OriginGate,
  PushGatewayRegistry,
  WEB_PUSH_BATCH_SIZE,
  type GateResult,
  type PushDelivery,
} from '@davpush/gateways';
import { PushMetrics } from '@davpush/observability';
import { JobPublisher, type DeliverBatchJobData, type DeliverJobData } from '@davpush/queue';
import { DeliveryLedger, RegistrationStore, SecretStore } from '@davpush/storage';
import { BatchTickets, fitsInLine } from './batch-tickets';
import { DeliveryOutcomes, type DeliveryStep } from './delivery-outcomes';
import { MessageCache, type BuiltMessage } from './message-cache';
import { throwFirstFailure } from '../throw-first-failure';

/**
 * A batch delivered inside its fan-out's first run (InlineDelivery): never run under its id before,
 * with its registrations as the fan-out read them (by id; one missing was removed meanwhile).
 */
export interface FreshBatch {
  registrations: ReadonlyMap<string, Registration>;
}

/**
 * A batch delivered inline that waited longer than this for its turn is checked again like a batch
 * job (what is still open, the registrations as they are now): the fan-out's read is no longer fresh.
 */
const FRESH_FOR_MS = 1000;

const live = (reg: Registration | undefined, now: number) => (reg && reg.expiresAt > now ? reg : undefined);

/** No outcome-driven attempt made yet (see DeliverJobData.attempt): the push has not reached a push service. */
const isFirstAttempt = (job: Pick<DeliverJobData, 'attempt'>): boolean => (job.attempt ?? 0) === 0;

/** Only transient failures count against an origin's circuit; 4xx say nothing about its health. */
const gateResult = (o: DeliveryOutcome): GateResult =>
  o.kind === 'accepted' || o.kind === 'gone' ? 'success' : o.kind === 'transient' ? 'failure' : 'neutral';

/**
 * Delivery of a batch (one dispatch, one route): what is still open, send-time checks (expiry, the
 * remaining TTL, message size), the origin gate, the send, and retries as batches of one at their
 * own time; what each outcome means is `DeliveryOutcomes` (README "Delivery semantics").
 */
@Injectable()
export class DeliveryService implements OnModuleInit {
  private messages!: MessageCache;

  constructor(
    private readonly config: AppConfig,
    private readonly registrations: RegistrationStore,
    private readonly ledger: DeliveryLedger,
    private readonly secrets: SecretStore,
    private readonly gateways: PushGatewayRegistry,
    private readonly publisher: JobPublisher,
    private readonly metrics: PushMetrics,
    private readonly gate: OriginGate,
    private readonly outcomes: DeliveryOutcomes,
  ) {
    this.turn =
      WEB_PUSH_BATCH_SIZE * Math.max(2, Math.ceil((4 * config.delivery.originConcurrency) / WEB_PUSH_BATCH_SIZE));
    this.tickets = new BatchTickets(this.turn);
  }

  /** Pushes per origin at work or being prepared: four times the origin's slots, in whole batches (at least 2). */
  private readonly tickets: BatchTickets;
  private readonly turn: number;

  async onModuleInit(): Promise<void> {
    this.messages = new MessageCache(await this.secrets.topicKey());
  }

  /**
   * Many registrations of one dispatch and route in one job: FCM as one sendEach batch (up to 500),
   * Web Push side by side, each push through its origin's gate. Every result is handled on its
   * own; one that must be retried continues as a batch of one (carrying its attempt) at its own
   * time, while the pushes the gate turned away (origin busy, circuit open) go back together as one batch. Run
   * again after a crash, a batch sends only what is neither settled nor handed over. `fresh`: the
   * batch has never run under this id (delivered inside its fan-out's first run), so nothing of it
   * can be settled or handed over yet and that lookup is skipped, and its registrations come as
   * the fan-out read them (unless it waited over FRESH_FOR_MS for its turn: then it is looked up
   * and read again like any batch job).
   */
  async attemptBatch(
    batch: DeliverBatchJobData,
    batchJobId: string,
    now = Date.now(),
    fresh?: FreshBatch,
  ): Promise<void> {
    if (!batch.route) return this.runBatch(batch, batchJobId, now, fresh);
    const asked = Date.now();
    const release = await this.tickets.take(batch.route, batch.registrationIds.length);
    try {
      // The time spent waiting for the turn counts: TTLs shrink from when the batch really runs.
      const runs = Date.now();
      return await this.runBatch(batch, batchJobId, runs, runs - asked > FRESH_FOR_MS ? undefined : fresh);
    } finally {
      release();
    }
  }

  /** Whether a batch of `pushes` for `route` would get its turn now, without waiting behind others. */
  hasTurnNow(route: string, pushes: number): boolean {
    return this.tickets.free(route, pushes);
  }

  /**
   * Whether a batch of `pushes` for `route` may join the route's line here, its origin taking
   * `perSecond` pushes a second (OriginGate.answersPerSecond): see `fitsInLine` (with 64 slots per
   * origin, a turn is 300 pushes and a line at most 2,400).
   */
  lineHasRoom(route: string, pushes: number, perSecond: number | undefined): boolean {
    return fitsInLine(this.tickets.load(route), pushes, this.turn, perSecond);
  }

  private async runBatch(
    batch: DeliverBatchJobData,
    batchJobId: string,
    now: number,
    fresh: FreshBatch | undefined,
  ): Promise<void> {
    const { registrationIds, route: _route, ...common } = batch;
    const open = fresh
      ? registrationIds
      : await this.ledger.unsettled(batch.dispatchId, batchJobId, registrationIds, batch.replay);
    const jobs = open.map((registrationId): DeliverJobData => ({ ...common, registrationId }));
    // Read by the fan-out at most FRESH_FOR_MS ago (deleted since: its push goes anyway, as it would
    // have had the batch run a moment earlier); otherwise read now, the whole batch in one round trip.
    const registrations = fresh
      ? open.map((id) => live(fresh.registrations.get(id), now))
      : await this.registrations.getMany(open, batch.tenantId, now);
    const prepared = await Promise.all(jobs.map((j, i) => this.prepare(j, registrations[i], now)));
    const sendable = prepared
      .map((p, i) => ({ p, job: jobs[i]! }))
      .filter((x): x is { p: PushDelivery; job: DeliverJobData } => !('done' in x.p));
    if (sendable.length === 0) return;
    const transport = sendable[0]!.p.registration.subscription.type;
    // A retry is a batch of one carrying its attempt, named after this job (a re-run adds it once).
    const retryLater = async (job: DeliverJobData, step: DeliveryStep) => {
      if (!('retryAt' in step)) return;
      const attempt = (job.attempt ?? 0) + (step.countsAsAttempt ? 1 : 0);
      await this.publisher.deliverBatchAt(
        transport,
        { ...common, registrationIds: [job.registrationId], attempt },
        step.retryAt,
        batchJobId,
      );
      await this.ledger.handOff(batchJobId, [job.registrationId]);
    };
    if (transport === 'web-push') {
      const turnedAway: { id: string; at: number }[] = [];
      // Settled, not all: one failure must not end the job while other pushes are still on the wire.
      const results = await Promise.allSettled(
        sendable.map(async ({ p, job }) => {
          const step = await this.sendOne(job, p, now);
          if ('retryAt' in step && !step.outcome) turnedAway.push({ id: job.registrationId, at: step.retryAt });
          else await retryLater(job, step);
        }),
      );
      if (turnedAway.length > 0) {
        const ids = turnedAway.map((t) => t.id);
        await this.publisher.deliverBatchAt(
          transport,
          { ...common, registrationIds: ids },
          Math.max(...turnedAway.map((t) => t.at)),
          batchJobId,
        );
        await this.ledger.handOff(batchJobId, ids);
      }
      throwFirstFailure(results);
      return;
    }
    const started = performance.now();
    const outcomes = await this.gateways.for(transport).sendMany(sendable.map((x) => x.p));
    const seconds = (performance.now() - started) / 1000;
    throwFirstFailure(
      await Promise.allSettled(
        sendable.map(async ({ p, job }, i) => {
          const outcome = outcomes[i]!;
          this.metrics.delivery(transport, outcome.kind, seconds);
          await retryLater(job, await this.outcomes.handle(job, p.registration, outcome, Date.now()));
        }),
      ),
    );
  }

  /**
   * The last attempt of a job failed in our own code or storage: what it still owed is
   * dead-lettered (replayable) and settled as failed, so the event's status still completes.
   */
  async abandon(
    transport: Transport,
    jobs: readonly DeliverJobData[],
    reason: string,
    batchJobId?: string,
  ): Promise<void> {
    if (jobs.length === 0) return;
    const open = new Set(
      await this.ledger.unsettled(
        jobs[0]!.dispatchId,
        batchJobId ?? '',
        jobs.map((j) => j.registrationId),
        jobs[0]!.replay,
      ),
    );
    for (const job of jobs)
      if (open.has(job.registrationId))
        await this.outcomes.giveUp(job, transport, `gave up after repeated internal errors: ${reason}`);
  }

  private async sendOne(job: DeliverJobData, ready: PushDelivery, now: number): Promise<DeliveryStep> {
    const gateway = this.gateways.for(ready.registration.subscription.type);
    const route = gateway.routeKey(ready.registration.subscription);
    // Encrypted before its origin's slot is taken: the slots bound requests on the wire, not pushes
    // waiting for an encryption thread, so the threads keep working while the slots are full (the
    // batch tickets bound how many are prepared ahead). Not for an origin that turns every push away
    // now (circuit open, half-open with its probe out, or hanging with its waiting room full, which
    // is where batches let through by BatchTickets' stuck-route rule end up): no work for those.
    const prepared = this.gate.turnsAway(route, now) ? undefined : await gateway.prepare(ready);
    if (prepared && 'outcome' in prepared) return this.finish(job, ready, prepared.outcome);
    // A busy, hanging or failing push service waits for its own turn without holding a worker slot.
    const admission = await this.gate.acquire(route);
    if (!admission.admitted) {
      // Our own concurrency cap never costs a push its first attempt; a push service known to be
      // failing (circuit open) does once the TTL is over.
      const firstTurnedAwayByUs = isFirstAttempt(job) && admission.reason === ORIGIN_BUSY;
      if (admission.retryAt >= job.deadline && !firstTurnedAwayByUs) {
        return this.outcomes.giveUp(
          job,
          ready.registration.subscription.type,
          `TTL ran out while the push service was unavailable (${admission.reason})`,
        );
      }
      return { retryAt: admission.retryAt, countsAsAttempt: false };
    }
    let outcome: DeliveryOutcome;
    const started = performance.now();
    try {
      // Prepared now if the circuit had been open when checked (a half-open probe since).
      const push = prepared ?? (await gateway.prepare(ready));
      outcome = 'outcome' in push ? push.outcome : await push.transmit();
    } catch (err) {
      // Adapters classify every answer; a throw is our bug, not the push service's health.
      admission.release('neutral');
      throw err;
    }
    admission.release(gateResult(outcome));
    return this.finish(job, ready, outcome, (performance.now() - started) / 1000);
  }

  /** Metrics and what the outcome means; `requestSeconds`: the push service request, if one was made. */
  private finish(
    job: DeliverJobData,
    ready: PushDelivery,
    outcome: DeliveryOutcome,
    requestSeconds?: number,
  ): Promise<DeliveryStep> {
    this.metrics.delivery(ready.registration.subscription.type, outcome.kind, requestSeconds);
    return this.outcomes.handle(job, ready.registration, outcome, Date.now());
  }

  /** Send-time checks: the registration (read now) may have been deleted or expired since the fan-out. */
  private async prepare(
    job: DeliverJobData,
    reg: Registration | undefined,
    now: number,
  ): Promise<PushDelivery | Extract<DeliveryStep, { done: string }>> {
    if (!reg) {
      await this.outcomes.settle(job, job.registrationId, { bucket: 'skipped' });
      return { done: 'skipped' };
    }
    // The first attempt is always made, with what is left of the TTL (0 at the least: RFC 8030 §5.2,
    // deliver now or never). Only a retry can be too late: it is never scheduled past the deadline
    // (decideRetry), and one that still runs after it (a busy queue) is given up here.
    const remainingMs = job.deadline - now;
    if (remainingMs <= 0 && !isFirstAttempt(job)) {
      return this.outcomes.giveUp(
        job,
        reg.subscription.type,
        'TTL ran out before the push could be sent again',
      ) as Promise<Extract<DeliveryStep, { done: string }>>;
    }
    let built: BuiltMessage;
    try {
      built = this.messages.get(job.tenantId, job.topic, job.kinds, job.syncToken);
    } catch (err) {
      // Never sent at all rather than sent changed or over a push service's size limit.
      if (!(err instanceof ValidationError)) throw err;
      const refused: DeliveryOutcome = { kind: 'rejected', reason: `the push-message cannot be sent: ${err.message}` };
      return this.outcomes.giveUp(job, reg.subscription.type, refused.reason, refused) as Promise<
        Extract<DeliveryStep, { done: string }>
      >;
    }
    // Rounded up: `ttl: 2` held 1 s for coalescing still has 1 s, not 0; never above the event's own
    // ttl, as the deadline is its acceptance plus ttl.
    return {
      registration: reg,
      ...built,
      ttlSeconds: Math.max(0, Math.ceil(remainingMs / 1000)),
      urgency: job.urgency,
    };
  }
}
