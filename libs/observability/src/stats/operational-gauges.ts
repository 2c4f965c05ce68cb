import { Injectable, Logger } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { PushMetrics } from '../push-metrics';
import { QueueStatsService } from './queue-stats.service';
import { RegistrationStatsService } from './registration-stats.service';
import { ReplicationStatsService } from './replication-stats.service';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * Gauges computed on scrape (prom-client `collect()`), from Redis through the cached stats services,
 * so every process (api, worker) reports the same shared figures and a scrape storm costs at most
 * one Redis read per cache TTL. When Redis does not answer, the series are dropped rather than left
 * at stale values: `absent()` alerts then fire instead of a flat line that looks healthy.
 */
@Injectable()
export class OperationalGauges {
  private readonly logger = new Logger(OperationalGauges.name);

  constructor(
    metrics: PushMetrics,
    queues: QueueStatsService,
    registrations: RegistrationStatsService,
    replication: ReplicationStatsService,
  ) {
    const registers = [metrics.registry];
    const snapshot = () => queues.snapshot().catch((err: Error) => this.failed('queues', err));
    const jobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'davpush_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed), read from Redis on scrape',
      labelNames: ['queue', 'state'] as const,
      registers,
      collect: async () => {
        const snap = await snapshot();
        jobs.reset();
        for (const q of snap?.queues ?? [])
          for (const state of STATES) jobs.set({ queue: q.name, state }, q.counts[state]);
      },
    });
    // prom-client collects all metrics concurrently: each gauge awaits the (shared, cached) snapshot itself.
    const oldest: Gauge<'queue'> = new Gauge({
      name: 'davpush_queue_oldest_waiting_seconds',
      help: 'Age of the job that has waited longest for a worker, per queue (0 when none waits)',
      labelNames: ['queue'] as const,
      registers,
      collect: async () => {
        const snap = await snapshot();
        oldest.reset();
        for (const q of snap?.queues ?? []) oldest.set({ queue: q.name }, (q.oldestWaitingAgeMs ?? 0) / 1000);
      },
    });
    const live: Gauge<'transport'> = new Gauge({
      name: 'davpush_registrations_live',
      help: 'Live (unexpired) registrations per transport (cached 30 s; estimated from a sample above 20k)',
      labelNames: ['transport'] as const,
      registers,
      collect: async () => {
        const counts = await registrations.counts().catch((err: Error) => this.failed('registrations', err));
        live.reset();
        if (!counts) return;
        for (const [transport, n] of Object.entries(counts.byTransport)) live.set({ transport }, n);
      },
    });
    // docs/durability.md: under DAVPUSH_DURABILITY=replicated a master at 0 answers every write with 503.
    const replicas: Gauge<'master'> = new Gauge({
      name: 'davpush_redis_replicas_online',
      help: 'Online (in-sync) replicas of each Redis master, from INFO replication (cached 2 s)',
      labelNames: ['master'] as const,
      registers,
      collect: async () => {
        const masters = await replication.masters().catch((err: Error) => this.failed('replication', err));
        replicas.reset();
        for (const m of masters ?? []) replicas.set({ master: m.master }, m.online);
      },
    });
  }

  private failed(what: string, err: Error): undefined {
    this.logger.warn({ msg: 'metrics collection failed', what, error: err.message });
    return undefined;
  }
}
