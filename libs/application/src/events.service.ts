import { Injectable, Optional } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import {
  clientSkipEntry,
  ConflictError,
  NotFoundError,
  ValidationError,
  type ChangeEvent,
  type ChangeKind,
  type Urgency,
} from '@davpush/domain';
import { PushMetrics } from '@davpush/observability';
import { JobPublisher, LocalFanout } from '@davpush/queue';
import {
  EventStore,
  IdempotencyStore,
  KnownTopicStore,
  ReplicaAck,
  withinCommandTimeout,
  type EventStatus,
} from '@davpush/storage';
import { RegistrationsService } from './registrations.service';
import { parsePushDontNotify } from '@davpush/webdav-push';
import { assertEventText } from './topic';
import type { EventInput } from './change-event.dto';

export interface AcceptedEvents {
  events: { id: string; topic: string }[];
  noSubscribers: string[];
}

@Injectable()
export class EventsService {
  constructor(
    private readonly config: AppConfig,
    private readonly store: EventStore,
    private readonly registrationUrls: RegistrationsService,
    private readonly publisher: JobPublisher,
    private readonly metrics: PushMetrics,
    private readonly idempotency: IdempotencyStore,
    private readonly replicas: ReplicaAck,
    private readonly local: LocalFanout,
    @Optional() private readonly knownTopics?: KnownTopicStore,
  ) {}

  /**
   * `dontNotify` carries the calendar server's `Push-Dont-Notify` header as it came: one string per
   * header line (or the whole value as one string), each `1#quoted-string / "*"` (RFC 9110 §5.6.1,
   * §5.6.4), parsed by {@link parsePushDontNotify}. An unquoted URL must then equal a registration
   * URL as handed out in `Location`, byte for byte; anything else is ignored (draft: MUST ignore
   * invalid values), and so are registrations of other topics or tenants (the fan-out only skips
   * its own targets).
   *
   * @throws ValidationError for a topic or sync-token that cannot be carried (see assertEventText).
   */
  toEvent(tenantId: string, input: EventInput, now: number): ChangeEvent {
    assertEventText(input);
    const lines =
      typeof input.dontNotify === 'string'
        ? [input.dontNotify]
        : (input.dontNotify ?? []).filter((l): l is string => typeof l === 'string');
    const values = parsePushDontNotify(lines);
    const dontNotify =
      values === '*'
        ? '*'
        : [
            ...new Set(values.flatMap((u) => this.registrationUrls.idFromUrl(u) ?? [])),
            // CC/CD 70025 `client-id`: registrations made by that client are skipped (docs/cc70025.md).
            ...(input.skipClients ?? []).map(clientSkipEntry),
          ];
    return {
      id: input.id ?? randomUUID(),
      tenantId,
      topic: input.topic,
      changes: [...new Set(input.changes as ChangeKind[])],
      syncToken: input.syncToken,
      urgency: (input.urgency ?? 'normal') as Urgency,
      ttl: input.ttl ?? this.config.defaultTtlSeconds,
      dontNotify,
      receivedAt: now,
    };
  }

  /**
   * Stores the events, then schedules each topic's fan-out (a leading or urgent one may start in
   * this process instead, without a job: LocalFanout); answers once both are in Redis
   * (AOF-backed; with DAVPUSH_DURABILITY=replicated also on a replica, else ReplicationTimeoutError),
   * never after talking to a push service. An event id seen before is not queued again,
   * and an event of a topic without live registrations is recorded (its status reads `done`) but
   * queues nothing. Leading-edge coalescing: the first change of a quiet topic is fanned out at once
   * and opens the topic's window; changes inside it wait for one trailing push when it closes.
   */
  async accept(tenantId: string, inputs: readonly EventInput[], requestId?: string): Promise<AcceptedEvents> {
    const now = Date.now();
    const events = inputs.map((i) => this.toEvent(tenantId, i, now));
    const results = await this.store.accept(events, this.config.coalesceMs);
    const topics = new Map<string, { now: boolean; delayMs: number }>();
    const live = new Map<string, number>();
    let fresh = 0;
    events.forEach((e, i) => {
      const r = results[i]!;
      live.set(e.topic, r.live);
      if (r.fresh) fresh++;
      if (!r.parked) return;
      const t = topics.get(e.topic) ?? { now: false, delayMs: 0 };
      t.now ||= r.parked === 'leading' || this.notToBeHeld(e);
      t.delayMs = Math.max(t.delayMs, r.windowLeftMs);
      topics.set(e.topic, t);
    });
    this.metrics.eventsAccepted.inc(fresh);
    const distinct = [...live.keys()];
    // BullMQ's connection has no command timeout (libs/queue/src/queue.module.ts): the job adds are
    // bounded here as the stores' commands are, so a Redis that stops answering is a 503
    // storage-timeout, not a hang. Safe whatever became of an add that timed out: the events are
    // parked already (libs/storage/src/event.store.ts); an add that lands late fans out what is
    // pending then (nothing, if a retry's fan-out took it: apps/worker/src/fan-out/fanout.service.ts);
    // one that never lands leaves the topic to the stranded-topic sweep (recoverStranded,
    // apps/worker/src/maintenance/maintenance.processor.ts); a retry with the same event id queues nothing.
    // A leading or urgent change starts its fan-out in this process when it runs the worker role and
    // has room (LocalFanout; crash-safe through its lease, apps/worker/src/fan-out/in-process-fanout.ts).
    const queued = [...topics].filter(([topic, t]) => !(t.now && this.local.tryStart({ tenantId, topic, requestId })));
    const fanouts = Promise.all(
      queued.map(([topic, t]) => this.publisher.scheduleFanout({ tenantId, topic, requestId }, t.now, t.delayMs)),
    );
    await Promise.all([
      withinCommandTimeout(fanouts, this.config.redis.commandTimeoutMs),
      // A topic a tenant posted an event for is one its clients may subscribe to (CC/CD 70025 subscribe).
      this.knownTopics?.add(tenantId, distinct),
    ]);
    // DAVPUSH_DURABILITY=replicated: no 202 before a replica holds the event, its pending entry and
    // the fan-out job, if one was queued (docs/durability.md). After the job is added, so a 503 here leaves nothing to
    // redo: a retry finds the event id known and the job queued.
    if (this.replicas.required)
      await this.replicas.afterWrites(
        ...(await this.publisher.fanoutConnections(
          tenantId,
          queued.map(([topic]) => topic),
        )),
      );
    return {
      events: events.map((e) => ({ id: e.id, topic: e.topic })),
      noSubscribers: distinct.filter((t) => live.get(t) === 0),
    };
  }

  /**
   * An urgent event, or one whose TTL would be used up by the coalescing window, starts its topic's
   * fan-out at once: holding a `ttl: 0` push for the window would make it stale before its first
   * attempt (RFC 8030 §5.2: TTL 0 means deliver now or not at all).
   */
  private notToBeHeld(e: ChangeEvent): boolean {
    return e.urgency === 'high' || e.ttl * 1000 <= this.config.coalesceMs;
  }

  /**
   * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the first answer is stored for 24 h
   * and returned for every repeat, which queues nothing. The same key with another body is refused;
   * a repeat while the first request is still running gets 409.
   */
  async acceptOnce(
    tenantId: string,
    key: string,
    body: Buffer,
    inputs: readonly EventInput[],
    requestId?: string,
  ): Promise<AcceptedEvents> {
    const fingerprint = createHash('sha256').update(body).digest('base64url');
    const begun = await this.idempotency.begin(tenantId, key, fingerprint);
    if (begun.state === 'done') return begun.answer as AcceptedEvents;
    if (begun.state === 'in-flight')
      throw new ConflictError('a request with this Idempotency-Key is still being processed');
    if (begun.state === 'mismatch')
      throw new ValidationError('this Idempotency-Key was used with a different request body');
    try {
      const answer = await this.accept(tenantId, inputs, requestId);
      await this.idempotency.complete(tenantId, key, fingerprint, answer);
      return answer;
    } catch (err) {
      await this.idempotency.abandon(tenantId, key);
      throw err;
    }
  }

  async status(tenantId: string, id: string): Promise<EventStatus> {
    const s = await this.store.status(tenantId, id);
    if (!s) throw new NotFoundError('no such event');
    return s;
  }
}
