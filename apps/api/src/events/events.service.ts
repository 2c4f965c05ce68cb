import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@davpush/config';
import { NotFoundError, type ChangeEvent, type ChangeKind, type Urgency } from '@davpush/domain';
import { PushMetrics } from '@davpush/observability';
import { JobPublisher } from '@davpush/queue';
import { EventStore, RegistrationStore, type EventStatus } from '@davpush/storage';
import { RegistrationsService } from '../registrations/registrations.service';
import { assertTopic } from '../registrations/topic';
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
    private readonly registrations: RegistrationStore,
    private readonly registrationUrls: RegistrationsService,
    private readonly publisher: JobPublisher,
    private readonly metrics: PushMetrics,
  ) {}

  toEvent(tenantId: string, input: EventInput, now: number): ChangeEvent {
    assertTopic(input.topic);
    const dontNotify =
      input.dontNotify === '*'
        ? '*'
        : (input.dontNotify ?? []).flatMap((u) => (typeof u === 'string' ? (this.registrationUrls.idFromUrl(u) ?? []) : []));
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
   * Stores the events, then schedules each topic's fan-out; answers once both are in Redis
   * (AOF-backed), never after talking to a push service. An event id seen before is not queued again.
   */
  async accept(tenantId: string, inputs: readonly EventInput[], requestId?: string): Promise<AcceptedEvents> {
    const now = Date.now();
    const events = inputs.map((i) => this.toEvent(tenantId, i, now));
    const fresh = await this.store.accept(events);
    const topics = new Map<string, boolean>();
    for (const e of events) {
      if (!fresh.has(e.id)) continue;
      topics.set(e.topic, (topics.get(e.topic) ?? false) || e.urgency === 'high');
    }
    this.metrics.eventsAccepted.inc(fresh.size);
    await Promise.all([...topics].map(([topic, urgent]) => this.publisher.scheduleFanout({ tenantId, topic, requestId }, urgent)));
    const distinct = [...new Set(events.map((e) => e.topic))];
    const counts = await Promise.all(distinct.map((t) => this.registrations.countLive(tenantId, t, now)));
    return {
      events: events.map((e) => ({ id: e.id, topic: e.topic })),
      noSubscribers: distinct.filter((_, i) => counts[i] === 0),
    };
  }

  async status(tenantId: string, id: string): Promise<EventStatus> {
    const s = await this.store.status(tenantId, id);
    if (!s) throw new NotFoundError('no such event');
    return s;
  }
}
