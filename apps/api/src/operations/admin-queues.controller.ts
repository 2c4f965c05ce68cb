import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import {
  QueueStatsService,
  RegistrationStatsService,
  type QueueCounts,
  type RegistrationCounts,
} from '@davpush/observability';
import { AdminGuard } from '../http/auth.guards';
import { ApiArea, AuthProblems, JsonAnswer, Operation } from '../openapi/openapi.decorators';

export interface AdminQueueView {
  name: string;
  counts: QueueCounts;
  /** Null when nothing waits. */
  oldestWaitingSeconds: number | null;
  /** Jobs that finished in the last 60 s (BullMQ's completed/failed sets). */
  completedPerMinute: number;
  failedPerMinute: number;
  /** Per-minute history from BullMQ worker metrics, newest first; present when workers record it. */
  history?: { completed: number[]; failed: number[] };
  /** With DAVPUSH_QUEUE_SHARDS > 1: each shard's figures (the fields above are their sum; docs/cluster.md). */
  shards?: {
    shard: number;
    queue: string;
    counts: QueueCounts;
    oldestWaitingSeconds: number | null;
    completedPerMinute: number;
    failedPerMinute: number;
  }[];
}

export interface AdminQueuesView {
  at: string;
  queues: AdminQueueView[];
  /** Queues that did not answer in time, with the reason. */
  unavailable: { name: string; error: string }[];
  registrations?: RegistrationCounts;
}

const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms / 100) / 10);

/** `GET /v1/admin/queues`: what the dashboard shows, as JSON for scripts and the CLI's peers. */
@Controller('v1/admin/queues')
@UseGuards(AdminGuard)
@ApiArea('operations', 'admin')
@AuthProblems()
export class AdminQueuesController {
  constructor(
    private readonly queues: QueueStatsService,
    private readonly registrations: RegistrationStatsService,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @Operation('Queue health as JSON: counts, oldest waiting age, completed/failed per minute')
  @JsonAnswer(200, 'queues')
  async list(): Promise<AdminQueuesView> {
    const [snap, registrations] = await Promise.all([
      this.queues.snapshot(),
      this.registrations.counts().catch(() => undefined),
    ]);
    return {
      at: new Date(snap.at).toISOString(),
      queues: snap.queues.map((q) => ({
        name: q.name,
        counts: q.counts,
        oldestWaitingSeconds: seconds(q.oldestWaitingAgeMs),
        completedPerMinute: q.lastMinute.completed,
        failedPerMinute: q.lastMinute.failed,
        ...(q.perMinute ? { history: q.perMinute } : {}),
        ...(q.shards
          ? {
              shards: q.shards.map((s) => ({
                shard: s.shard,
                queue: s.queue,
                counts: s.counts,
                oldestWaitingSeconds: seconds(s.oldestWaitingAgeMs),
                completedPerMinute: s.lastMinute.completed,
                failedPerMinute: s.lastMinute.failed,
              })),
            }
          : {}),
      })),
      unavailable: snap.errors,
      registrations,
    };
  }
}
