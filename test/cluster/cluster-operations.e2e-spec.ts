import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@davpush/config';
import { ALL_QUEUES, JobPublisher, QueueName, ShardedQueues } from '@davpush/queue';
import { CoreModule } from '@davpush/runtime';
import type { AdminQueuesView } from '../../apps/api/src/operations/admin-queues.controller';
import { runCli, type OpenContext } from '../../apps/davpush/src/cli/cli';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster } from '../support/redis-cluster';
import { ServiceProcess } from '../operations/service-process';
import { ADMIN_TOKEN, eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

const SHARDS = 3;

/**
 * Operations on a Redis Cluster with DAVPUSH_QUEUE_SHARDS=3: the shards' queues sit on different
 * masters; readiness, /metrics, `GET /v1/admin/queues` and the dashboard see every shard (gauges
 * summed over shards); the CLI's stats, tenant and dead-letter commands work through
 * REDIS_CLUSTER_NODES, and a replayed dead letter is delivered.
 */
describe('operations on a Redis Cluster with sharded queues', () => {
  const w = useClusterWorld({ DAVPUSH_QUEUE_SHARDS: String(SHARDS) });
  let cluster: RedisCluster;
  let h: Harness;
  let push: FakePushService;
  beforeAll(() => {
    ({ cluster, h, push } = w);
  });

  const cli = async (argv: string[]) => {
    const config = loadConfig({
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      DAVPUSH_QUEUE_SHARDS: String(SHARDS),
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    });
    const open: OpenContext = async () => {
      const app = await NestFactory.createApplicationContext(CoreModule.forRoot(config), { logger: false });
      return { app, close: () => app.close() };
    };
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) }, open);
    return { code, out, err };
  };

  it('puts the queue shards on different masters', async () => {
    const shards = h.app.get(ShardedQueues);
    const fanouts = shards.all().filter((q) => q.kind === QueueName.Fanout);
    const masters = await Promise.all(
      fanouts.map(async (q) => (await cluster.ownersOf(`${q.prefix}:${q.name}:id`)).master.port),
    );
    expect(new Set(masters).size).toBe(SHARDS);
  });

  it('readiness, metrics and the admin view cover every shard, figures summed over shards', async () => {
    const ready = await h.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { details: { queues: { answered: string[] }; redis: object } };
    expect(body.details.queues.answered).toEqual([...ALL_QUEUES]);
    expect(body.details.redis).toEqual({ status: 'up', clusterState: 'ok' });

    // A delayed job in each shard's fan-out queue: 3 delayed in total.
    const shards = h.app.get(ShardedQueues);
    for (let s = 0; s < SHARDS; s++)
      await shards
        .queue(QueueName.Fanout, s)
        .add('fanout', { tenantId: 'ops', topic: `held-${s}` }, { delay: 600_000 });
    const view = await eventually(
      async () => {
        const v = (await (
          await h.request('GET', '/v1/admin/queues', { token: ADMIN_TOKEN })
        ).json()) as AdminQueuesView;
        return v.queues.find((q) => q.name === QueueName.Fanout)!.counts.delayed >= SHARDS && v;
      },
      10_000,
      'the delayed jobs counted',
    );
    const fanout = view.queues.find((q) => q.name === QueueName.Fanout)!;
    expect(fanout.shards!.map((s) => [s.queue, s.counts.delayed])).toEqual([
      ['fanout', 1],
      ['fanout-1', 1],
      ['fanout-2', 1],
    ]);
    expect(view.unavailable).toEqual([]);
    const metrics = await (await h.request('GET', '/metrics')).text();
    expect(metrics).toMatch(/davpush_queue_jobs\{queue="fanout",state="delayed"\} 3\n/);
    for (const q of ALL_QUEUES) expect(metrics).toContain(`davpush_queue_jobs{queue="${q}",state="waiting"}`);

    // The dashboard's own API lists every shard as a queue of its own.
    const board = await h.request('GET', '/admin/queues/api/queues', { token: ADMIN_TOKEN });
    expect(board.status).toBe(200);
    const names = ((await board.json()) as { queues: { name: string }[] }).queues.map((q) => q.name);
    expect(names.toSorted()).toEqual(
      shards
        .all()
        .map((q) => q.name)
        .toSorted(),
    );
    for (let s = 0; s < SHARDS; s++)
      await (
        await shards.queue(QueueName.Fanout, s).getJobs(['delayed'])
      )
        .find((j) => j.data.topic === `held-${s}`)
        ?.remove();
  });

  it('the CLI creates and lists tenants, prints stats per shard, and lists and replays dead letters', async () => {
    const created = await cli(['tenant', 'create', 'cluster-ops', '--json']);
    expect(created.code).toBe(0);
    const tenant = JSON.parse(created.out) as { id: string; apiKey: string };
    const list = await cli(['tenant', 'list']);
    expect(list.out).toContain('cluster-ops');

    const stats = await cli(['stats']);
    expect(stats.code).toBe(0);
    for (const name of ['fanout', 'fanout-1', 'fanout-2', 'deliver-web-push-2', 'dead-letter', 'maintenance'])
      expect(stats.out).toMatch(new RegExp(`^ +${name} `, 'm'));

    // A dead letter of a real registration: listed, replayed, delivered.
    const { client, id, location } = await w.registerJson('ops-dlq');
    const registrationId = location.split('/').pop()!;
    const before = (await cli(['dlq', 'list', '--json'])).out;
    expect(JSON.parse(before)).toEqual([]);
    const delivery = {
      dispatchId: 'ops-d1',
      registrationId,
      tenantId: w.tenantId,
      topic: 'ops-dlq',
      kinds: ['content' as const],
      urgency: 'normal' as const,
      deadline: Date.now() + 60_000,
      acceptedAt: Date.now(),
    };
    await h.app.get(JobPublisher).deadLetter({
      queue: QueueName.DeliverWebPush,
      transport: 'web-push',
      reason: 'rejected: 400',
      delivery,
      failedAt: Date.now(),
    });
    const listed = await cli(['dlq', 'list', '--json']);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.out) as { registrationId: string }[]).map((d) => d.registrationId)).toEqual([
      registrationId,
    ]);
    const replay = await cli(['dlq', 'replay']);
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('replayed 1 dead letter(s)');
    await push.waitFor({ id, count: 1 }, 15_000);
    expect(push.received(push.idOf(client)).filter((r) => r.status === 201)).toHaveLength(1);
    expect(JSON.parse((await cli(['dlq', 'list', '--json'])).out)).toEqual([]);
    expect(tenant.id).not.toBe(w.tenantId);
  }, 60_000);

  it('a process started on the cluster names REDIS_CLUSTER_NODES, the shards and the durability in its banner; the installed CLI runs on it', async () => {
    const env = {
      REDIS_CLUSTER_NODES: cluster.nodesEnv,
      DAVPUSH_QUEUE_SHARDS: String(SHARDS),
      DAVPUSH_VAPID_SUBJECT: 'mailto:ops@davpush.test',
    };
    const dataDir = ServiceProcess.dataDir();
    try {
      const worker = await ServiceProcess.start({ role: 'worker', env, dataDir });
      try {
        expect(worker.banner()).toMatchObject({
          redis: `REDIS_CLUSTER_NODES ${cluster.nodesEnv}`,
          queueShards: '3',
          durability: 'local',
        });
      } finally {
        worker.signal('SIGTERM');
        await worker.exitWithin(15_000);
      }
      // bin/davpush.js, as `npx davpush stats` runs it, with nothing but REDIS_CLUSTER_NODES.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [path.resolve(__dirname, '../../bin/davpush.js'), 'stats', '--json'],
        {
          env: { ...process.env, ...env, DAVPUSH_DATA_DIR: dataDir },
          timeout: 30_000,
        },
      );
      const stats = JSON.parse(stdout) as {
        registrations: { total: number; byTransport: Record<string, number>; sampled: boolean };
      };
      expect(stats.registrations).toEqual({ total: 1, byTransport: { 'web-push': 1, fcm: 0 }, sampled: false });
    } finally {
      ServiceProcess.removeDataDirs();
    }
  }, 60_000);
});
