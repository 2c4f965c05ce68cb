import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OUTCOME_KINDS, TRANSPORTS, type OutcomeKind, type Transport } from '@davpush/domain';

/** Outcomes that schedule a retry, and the reasons for a prune or a dead letter (apps/worker/src/delivery/delivery.service.ts). */
const RETRY_OUTCOMES: readonly OutcomeKind[] = ['throttled', 'transient'];
const PRUNE_REASONS = ['gone', 'failure-window'] as const;
const DEAD_LETTER_REASONS = ['rejected', 'auth', 'throttled', 'transient', 'expired'] as const;
/** Who read a collection's sync-token in proxy mode (apps/proxy/src/changes), and why a read failed. */
export const PROXY_READ_SOURCES = ['write', 'hook', 'poller', 'catch-up'] as const;
export const PROXY_READ_FAILURES = ['unauthorized', 'forbidden', 'not-found', 'other-status', 'unreachable'] as const;
export type ProxyReadSource = (typeof PROXY_READ_SOURCES)[number];
export type ProxyReadFailure = (typeof PROXY_READ_FAILURES)[number];

/**
 * The service's own Prometheus metrics (docs/operations.md "Metrics"). One registry per process;
 * api and worker processes are scraped separately (README "Operations").
 */
@Injectable()
export class PushMetrics {
  readonly registry = new Registry();

  readonly eventsAccepted = new Counter({
    name: 'davpush_events_accepted_total',
    help: 'Change events accepted (202) from calendar servers',
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'davpush_deliveries_total',
    help: 'Delivery attempts by transport and outcome (accepted, gone, rejected, auth, throttled, transient)',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'davpush_retries_total',
    help: 'Deliveries scheduled for another attempt, by transport and outcome that caused it',
    labelNames: ['transport', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly prunes = new Counter({
    name: 'davpush_registrations_pruned_total',
    help: 'Registrations removed because the push service said they are gone, or after the failure tolerance window',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'davpush_dead_letters_total',
    help: 'Deliveries given up and moved to the dead-letter queue',
    labelNames: ['transport', 'reason'] as const,
    registers: [this.registry],
  });

  readonly endToEnd = new Histogram({
    name: 'davpush_event_to_accepted_seconds',
    help: 'From the event being accepted (202) to the push service accepting the push (2xx)',
    labelNames: ['transport'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });

  readonly pushLatency = new Histogram({
    name: 'davpush_push_request_seconds',
    help: 'Latency of requests to push services (Web Push POST, FCM sendEach per message)',
    labelNames: ['transport'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Every HTTP request answered by this process; `route` is the route template, never the path (ids are capabilities). */
  readonly httpDuration = new Histogram({
    name: 'davpush_http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Proxy mode: a change that could not be pushed because its collection's token could not be read. */
  readonly proxyTokenReadFailures = new Counter({
    name: 'davpush_proxy_token_reads_failed_total',
    help: 'Proxy mode: sync-token reads of registered collections that failed (the change was not pushed), by source (write, hook, poller, catch-up) and reason',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'davpush_' });
    this.zeroKnownSeries();
  }

  /**
   * Every series with a known label set is exported from the start, at 0: `rate()` and
   * `increase()` need a sample before the first increment, and an alert on a series that does not
   * exist yet never fires (https://prometheus.io/docs/practices/instrumentation/#avoid-missing-metrics).
   */
  private zeroKnownSeries(): void {
    this.eventsAccepted.inc(0);
    for (const transport of TRANSPORTS) {
      for (const outcome of OUTCOME_KINDS) this.deliveries.inc({ transport, outcome }, 0);
      for (const outcome of RETRY_OUTCOMES) this.retries.inc({ transport, outcome }, 0);
      for (const reason of PRUNE_REASONS) this.prunes.inc({ transport, reason }, 0);
      for (const reason of DEAD_LETTER_REASONS) this.deadLetters.inc({ transport, reason }, 0);
      this.endToEnd.zero({ transport });
      this.pushLatency.zero({ transport });
    }
    for (const source of PROXY_READ_SOURCES) for (const reason of PROXY_READ_FAILURES) this.proxyTokenReadFailures.inc({ source, reason }, 0);
  }

  delivery(transport: Transport, outcome: OutcomeKind, pushSeconds?: number): void {
    this.deliveries.inc({ transport, outcome });
    if (pushSeconds !== undefined) this.pushLatency.observe({ transport }, pushSeconds);
  }
}
