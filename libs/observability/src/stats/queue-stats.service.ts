import { Injectable } from '@nestjs/common';
import type { Job } from 'bullmq';
import { ALL_QUEUES, QueueName, ShardedQueues, type PhysicalQueue } from '@davpush/queue';
import { JobHistoryStore } from '@davpush/storage';
import { Cached, within } from './cached';

/** Queues whose waiting jobs mean "a user is waiting for a push". Dead letters wait on purpose; maintenance is housekeeping. */
const NOT_ON_DELIVERY_PATH: ReadonlySet<QueueName> = new Set([QueueName.DeadLetter, QueueName.Maintenance]);
export const DELIVERY_PATH_QUEUES: readonly QueueName[] = ALL_QUEUES.filter((q) => !NOT_ON_DELIVERY_PATH.has(q));

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface QueueFigures {
  name: QueueName;
  counts: QueueCounts;
  /** Age of the job that has waited longest for a worker; null when nothing waits. */
  oldestWaitingAgeMs: number | null;
  /** Jobs finished in the last 60 s, counted in BullMQ's completed/failed sets (kept 1 h, see job-options). */
  lastMinute: { completed: number; failed: number };
  /** BullMQ worker metrics, one point per completed minute, newest first; absent unless workers run with `metrics`. */
  perMinute?: { completed: number[]; failed: number[] };
  /**
   * With DAVPUSH_QUEUE_SHARDS > 1, a sharded queue's figures per shard (BullMQ queue name, e.g.
   * `fanout-2`); the figures above are then their sum (oldest wait: the largest).
   */
  shards?: ShardFigures[];
}

export type ShardFigures = Omit<QueueFigures, 'name' | 'shards' | 'perMinute'> & { shard: number; queue: string };

export interface QueuesSnapshot {
  at: number;
  queues: QueueFigures[];
  /** Queues that did not answer (Redis down, timeout): readiness is down while this is non-empty. */
  errors: { name: QueueName; error: string }[];
}

const PER_QUEUE_TIMEOUT_MS = 1500;
const HISTORY_POINTS = 15;

/**
 * When a waiting job became runnable. BullMQ keeps no "entered wait at" time: a delayed job's `delay`
 * is reset to 0 when it is promoted, so we take the later of "added + initial delay" and "last
 * started" (a retried job re-enters wait after its previous attempt). A retried job's backoff makes
 * this a slight over-estimate, never an under-estimate of a stuck job.
 */
function runnableSince(job: Pick<Job, 'timestamp' | 'processedOn' | 'opts'>): number {
  return Math.max(job.timestamp + (job.opts?.delay ?? 0), job.processedOn ?? 0);
}

/**
 * Per-queue figures for metrics, readiness, `GET /v1/admin/queues` and `davpush stats`, read from
 * Redis so they are the same whichever process (api, worker, CLI) asks. Cached briefly: see Cached.
 */
@Injectable()
export class QueueStatsService {
  static readonly TTL_MS = 2000;
  private readonly cache = new Cached(QueueStatsService.TTL_MS, () => this.read());

  constructor(
    private readonly queues: ShardedQueues,
    private readonly history: JobHistoryStore,
  ) {}

  /** A snapshot at most `maxAgeMs` old (default: the cache TTL). */
  snapshot(maxAgeMs?: number): Promise<QueuesSnapshot> {
    return this.cache.get(maxAgeMs);
  }

  private async read(now = Date.now()): Promise<QueuesSnapshot> {
    const settled = await Promise.allSettled(
      ALL_QUEUES.map((name) => within(this.figures(name, now), PER_QUEUE_TIMEOUT_MS, `queue ${name}`)),
    );
    const snapshot: QueuesSnapshot = { at: now, queues: [], errors: [] };
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') snapshot.queues.push(r.value);
      else
        snapshot.errors.push({
          name: ALL_QUEUES[i]!,
          error: r.reason instanceof Error ? r.reason.message : String(r.reason),
        });
    });
    return snapshot;
  }

  /** One queue kind: its only queue, or the sum over its shards. A shard that does not answer fails the kind. */
  private async figures(name: QueueName, now: number): Promise<QueueFigures> {
    const physical = this.queues.all().filter((q) => q.kind === name);
    const parts = await Promise.all(physical.map((q) => this.figuresOf(q, now)));
    if (parts.length === 1) return parts[0]!;
    const sum = (pick: (f: QueueFigures) => number) => parts.reduce((n, f) => n + pick(f), 0);
    const ages = parts.map((f) => f.oldestWaitingAgeMs).filter((a): a is number => a !== null);
    const history = parts.map((f) => f.perMinute).filter((h) => !!h);
    const addUp = (series: number[][]) =>
      Array.from({ length: Math.max(0, ...series.map((s) => s.length)) }, (_, i) =>
        series.reduce((n, s) => n + (s[i] ?? 0), 0),
      );
    return {
      name,
      counts: {
        waiting: sum((f) => f.counts.waiting),
        active: sum((f) => f.counts.active),
        delayed: sum((f) => f.counts.delayed),
        failed: sum((f) => f.counts.failed),
        completed: sum((f) => f.counts.completed),
      },
      oldestWaitingAgeMs: ages.length ? Math.max(...ages) : null,
      lastMinute: { completed: sum((f) => f.lastMinute.completed), failed: sum((f) => f.lastMinute.failed) },
      ...(history.length
        ? {
            perMinute: {
              completed: addUp(history.map((h) => h.completed)),
              failed: addUp(history.map((h) => h.failed)),
            },
          }
        : {}),
      shards: parts.map(({ counts, oldestWaitingAgeMs, lastMinute }, i) => ({
        shard: physical[i]!.shard!,
        queue: physical[i]!.name,
        counts,
        oldestWaitingAgeMs,
        lastMinute,
      })),
    };
  }

  private async figuresOf(pq: PhysicalQueue, now: number): Promise<QueueFigures> {
    const name = pq.kind;
    const q = this.queues.byPhysical(pq);
    const since = now - 60_000;
    const [counts, oldest, completedLastMinute, failedLastMinute, completedHistory, failedHistory] = await Promise.all([
      q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'),
      // asc = oldest first: the wait list's tail.
      q.getJobs(['wait'], 0, 0, true),
      this.history.finishedSince(q.toKey('completed'), since),
      this.history.finishedSince(q.toKey('failed'), since),
      q.getMetrics('completed', 0, HISTORY_POINTS - 1),
      q.getMetrics('failed', 0, HISTORY_POINTS - 1),
    ]);
    const job = oldest.find(Boolean);
    const enabled = completedHistory.meta.prevTS > 0 || failedHistory.meta.prevTS > 0;
    return {
      name,
      counts: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        completed: counts.completed ?? 0,
      },
      oldestWaitingAgeMs: job ? Math.max(0, now - runnableSince(job)) : null,
      lastMinute: { completed: completedLastMinute, failed: failedLastMinute },
      ...(enabled ? { perMinute: { completed: completedHistory.data, failed: failedHistory.data } } : {}),
    };
  }
}
