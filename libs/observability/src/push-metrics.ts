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

/** A counter in `registry`, with these label names. */
const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[] = []) =>
  new Counter<L>({ name, help, labelNames, registers: [registry] });

/** A histogram in `registry`, with these label names and bucket bounds (seconds). */
const histogram = <L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  buckets: number[],
) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] });

/**
 * The service's own Prometheus metrics (docs/operations.md "Metrics"). One registry per process;
 * api and worker processes are scraped separately (README "Operations").
 */
@Injectable()
export class PushMetrics {
  readonly registry = new Registry();

  readonly eventsAccepted = counter(
    this.registry,
    'davpush_events_accepted_total',
    'Change events accepted (202) from calendar servers',
  );

  readonly deliveries = counter(
    this.registry,
    'davpush_deliveries_total',
    'Delivery attempts by transport and outcome (accepted, gone, rejected, auth, throttled, transient)',
    ['transport', 'outcome'],
  );

  readonly retries = counter(
    this.registry,
    'davpush_retries_total',
    'Deliveries scheduled for another attempt, by transport and outcome that caused it',
    ['transport', 'outcome'],
  );

  readonly prunes = counter(
    this.registry,
    'davpush_registrations_pruned_total',
    'Registrations removed because the push service said they are gone, or after the failure tolerance window',
    ['transport', 'reason'],
  );

  readonly deadLetters = counter(
    this.registry,
    'davpush_dead_letters_total',
    'Deliveries given up and moved to the dead-letter queue',
    ['transport', 'reason'],
  );

  readonly endToEnd = histogram(
    this.registry,
    'davpush_event_to_accepted_seconds',
    'From the event being accepted (202) to the push service accepting the push (2xx)',
    ['transport'],
    [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
  );

  readonly pushLatency = histogram(
    this.registry,
    'davpush_push_request_seconds',
    'Latency of requests to push services (Web Push POST, FCM sendEach per message)',
    ['transport'],
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );

  /** Fan-outs run in the process that accepted their event, without a queued job (apps/worker/src/fan-out/in-process-fanout.ts). */
  readonly inProcessFanouts = counter(
    this.registry,
    'davpush_fanouts_in_process_total',
    'Fan-outs of leading or urgent changes run in the process that accepted them, without a queued job, by result (completed; queued: failed and handed to the queue; left: failed, left to the stranded sweep)',
    ['result'],
  );

  /** Every HTTP request answered by this process; `route` is the route template, never the path (ids are capabilities). */
  readonly httpDuration = histogram(
    this.registry,
    'davpush_http_request_duration_seconds',
    'HTTP request latency by method, route template and status code',
    ['method', 'route', 'status'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );

  /** Proxy mode: a change that could not be pushed because its collection's token could not be read. */
  readonly proxyTokenReadFailures = counter(
    this.registry,
    'davpush_proxy_token_reads_failed_total',
    'Proxy mode: sync-token reads of registered collections that failed (the change was not pushed), by source (write, hook, poller, catch-up) and reason',
    ['source', 'reason'],
  );

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
    for (const result of ['completed', 'queued', 'left']) this.inProcessFanouts.inc({ result }, 0);
    for (const source of PROXY_READ_SOURCES)
      for (const reason of PROXY_READ_FAILURES) this.proxyTokenReadFailures.inc({ source, reason }, 0);
  }

  delivery(transport: Transport, outcome: OutcomeKind, pushSeconds?: number): void {
    this.deliveries.inc({ transport, outcome });
    if (pushSeconds !== undefined) this.pushLatency.observe({ transport }, pushSeconds);
  }
}
