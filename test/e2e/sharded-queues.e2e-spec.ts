import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_QUEUES, QueueName, ShardedQueues, shardOf } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import type { WebPushClient } from '../support/webpush-client';
import type { AdminQueuesView } from '../../apps/api/src/operations/admin-queues.controller';
import { ADMIN_TOKEN, eventually, registerWebPush, startHarness, type Harness } from './harness';

const SHARDS = 4;
const TOPICS = 40;
const STATES = ['waiting', 'delayed', 'active', 'completed', 'failed'] as const;

/**
 * DAVPUSH_QUEUE_SHARDS=4 on one Redis: events of many topics are delivered, every job of one
 * topic (its fan-out and its deliveries) sits in that topic's shard, and a worker told a subset of
 * shards (DAVPUSH_WORKER_SHARDS) leaves the others' jobs to the workers that consume them.
 */
describe('sharded queues on a single Redis', () => {
  let redis: RedisServer;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let tenantId: string;
  const clients = new Map<string, WebPushClient>();

  beforeAll(async () => {
    redis = await RedisServer.start();
    // Every fan-out through its shard's queue, none in the accepting process: the jobs are what is looked at.
    h = await startHarness(
      { DAVPUSH_QUEUE_SHARDS: String(SHARDS), DAVPUSH_COALESCE_MS: '0', DAVPUSH_IN_PROCESS_FANOUT: 'false' },
      undefined,
      redis,
    );
    push = await FakePushService.start();
    ({ id: tenantId, apiKey } = await h.createTenant());
  }, 30_000);
  afterAll(async () => {
    await push?.stop();
    await h?.close();
    await redis?.stop();
  });

  const register = async (topic: string) => {
    const { client: c, res } = await registerWebPush(h, apiKey, push, topic);
    expect(res.status).toBe(201);
    return c;
  };
  const send = (topic: string, syncToken: string) =>
    h.request('POST', '/v1/events', { token: apiKey, body: { topic, changes: ['content'], syncToken } });

  it("delivers events of many topics, each topic's fan-out and deliveries in the one shard of its tenant topic", async () => {
    const topics = Array.from({ length: TOPICS }, (_, i) => `shard-topic-${i}`);
    for (const t of topics) clients.set(t, await register(t));
    for (const t of topics) expect((await send(t, `${t}-1`)).status).toBe(202);
    for (const t of topics) expect((await send(t, `${t}-2`)).status).toBe(202);
    await eventually(
      async () =>
        topics.every((t) => push.received(push.idOf(clients.get(t)!)).filter((r) => r.status === 201).length === 2),
      20_000,
      'two pushes per topic',
    );

    const shards = h.app.get(ShardedQueues);
    expect(
      shards
        .all()
        .filter((q) => q.kind === QueueName.Fanout)
        .map((q) => q.name),
    ).toEqual(['fanout', 'fanout-1', 'fanout-2', 'fanout-3']);
    const seenIn = new Map<string, Set<number>>();
    const jobsPerShard = Array.from({ length: SHARDS }, () => 0);
    for (const q of shards.all()) {
      if (q.shard === undefined) continue;
      const jobs = (await shards.byPhysical(q).getJobs([...STATES])) as Job<{ tenantId: string; topic: string }>[];
      for (const job of jobs) {
        const where = seenIn.get(job.data.topic) ?? new Set<number>();
        where.add(q.shard);
        seenIn.set(job.data.topic, where);
        jobsPerShard[q.shard]!++;
      }
    }
    for (const t of topics) expect([...seenIn.get(t)!]).toEqual([shardOf(tenantId, t, SHARDS)]);
    // 40 topics spread over every shard (each shard's queues have jobs).
    for (const n of jobsPerShard) expect(n).toBeGreaterThan(0);
    // Every push went once per event: the per-shard queues do not duplicate anything.
    for (const t of topics)
      expect(push.received(push.idOf(clients.get(t)!)).filter((r) => r.status === 201)).toHaveLength(2);

    // Operators see each queue once, its figures the sum over the shards, and each shard on its own.
    const view = (await (await h.request('GET', '/v1/admin/queues', { token: ADMIN_TOKEN })).json()) as AdminQueuesView;
    expect(view.queues.map((q) => q.name)).toEqual([...ALL_QUEUES]);
    const fanout = view.queues.find((q) => q.name === QueueName.Fanout)!;
    expect(fanout.shards!.map((s) => s.queue)).toEqual(['fanout', 'fanout-1', 'fanout-2', 'fanout-3']);
    expect(fanout.counts.completed).toBe(fanout.shards!.reduce((n, s) => n + s.counts.completed, 0));
    expect(fanout.counts.completed).toBe(2 * TOPICS);
    const metrics = await (await h.request('GET', '/metrics')).text();
    expect(metrics).toMatch(/davpush_queue_jobs\{queue="fanout",state="waiting"\} 0/);
  }, 60_000);

  it('a worker told DAVPUSH_WORKER_SHARDS=0,2 runs those shards only; a worker on 1,3 delivers the rest', async () => {
    const api = await startHarness(
      { DAVPUSH_QUEUE_SHARDS: String(SHARDS), DAVPUSH_COALESCE_MS: '0', DAVPUSH_WORKER_SHARDS: '0,2' },
      { api: true, worker: true },
      redis,
    );
    // Stop the first app's workers: only `api`'s worker (shards 0 and 2) consumes from here on.
    await h.close();
    h = api;
    const byShard = new Map<number, string>();
    for (let i = 0; byShard.size < SHARDS; i++) byShard.set(shardOf(tenantId, `subset-${i}`, SHARDS), `subset-${i}`);
    for (const t of byShard.values()) clients.set(t, await register(t));
    for (const t of byShard.values()) expect((await send(t, 'sub-1')).status).toBe(202);
    const pushes = (s: number) =>
      push.received(push.idOf(clients.get(byShard.get(s)!)!)).filter((r) => r.status === 201).length;
    await eventually(async () => pushes(0) === 1 && pushes(2) === 1, 10_000, 'shards 0 and 2 delivered');
    await new Promise((r) => setTimeout(r, 500));
    expect([pushes(1), pushes(3)]).toEqual([0, 0]);
    const shards = h.app.get(ShardedQueues);
    expect(await shards.queue(QueueName.Fanout, 1).getWaitingCount()).toBe(1);

    const other = await startHarness(
      { DAVPUSH_QUEUE_SHARDS: String(SHARDS), DAVPUSH_WORKER_SHARDS: '1,3' },
      { api: false, worker: true },
      redis,
    );
    try {
      await eventually(
        async () => pushes(1) === 1 && pushes(3) === 1,
        10_000,
        'shards 1 and 3 delivered by the other worker',
      );
    } finally {
      await other.close();
    }
  }, 60_000);
});
