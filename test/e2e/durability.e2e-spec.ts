import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '@davpush/config';
import { QueueName, ShardedQueues } from '@davpush/queue';
import { reachRedis } from '@davpush/runtime';
import { MaintenanceProcessor } from '../../apps/worker/src/maintenance/maintenance.processor';
import { FakePushService } from '../support/fake-push-service';
import { RedisServer } from '../support/redis-server';
import { eventually, freePort, registerWebPush, startHarness, type Harness } from './harness';

/**
 * DAVPUSH_DURABILITY=replicated on a single Redis with one replica (docs/durability.md): an event
 * or registration is answered only once the replica has it (WAIT); a replica that does not answer
 * turns the answer into 503 + Retry-After (`replication-timeout`), and the retry is safe. The
 * fan-out job is not waited for: losing it (as in a failover before it replicated) is healed by
 * stranded-topic recovery, shown here by removing the job.
 */
describe('durability: replicated', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let replicaClient: Redis;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;

  let primaryPort: number;

  beforeAll(async () => {
    [primary, replica] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    // Replication runs over TCP: give the primary a loopback port and point the replica at it.
    const port = (primaryPort = await freePort());
    const p = new Redis({ path: primary.socketPath });
    await p.config('SET', 'port', String(port));
    await p.config('SET', 'bind', '127.0.0.1');
    p.disconnect();
    replicaClient = new Redis({ path: replica.socketPath });
    await replicaClient.replicaof('127.0.0.1', port);
    await eventually(
      async () => /master_link_status:up/.test(await replicaClient.info('replication')),
      10_000,
      'replica in sync',
    );
    h = await startHarness(
      { DAVPUSH_DURABILITY: 'replicated', DAVPUSH_DURABILITY_TIMEOUT_MS: '300' },
      { api: true, worker: false },
      primary,
    );
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
  }, 30_000);
  afterAll(async () => {
    replicaClient?.disconnect();
    await push?.stop();
    await h?.close();
    await Promise.all([primary?.stop(), replica?.stop()]);
  });

  const register = async (topic: string) => {
    const { client: c, res } = await registerWebPush(h, apiKey, push, topic);
    return { c, res };
  };

  it('refuses to start without a replica: one line naming the setting', async () => {
    const lone = await RedisServer.start();
    try {
      const config = loadConfig({ REDIS_URL: lone.url, DAVPUSH_DURABILITY: 'replicated' });
      await expect(reachRedis(config)).rejects.toThrow(
        /^DAVPUSH_DURABILITY=replicated needs a replica of every Redis master, but \S+ has none online/,
      );
      await expect(
        reachRedis(config.with({ durability: { mode: 'local', timeoutMs: 1000 } })),
      ).resolves.toBeUndefined();
    } finally {
      await lone.stop();
    }
    await expect(
      reachRedis(loadConfig({ REDIS_URL: primary.url, DAVPUSH_DURABILITY: 'replicated' })),
    ).resolves.toBeUndefined();
  });

  it('answers 202 and 201 once the replica has the write; a replica that stops acknowledging turns them into 503 replication-timeout, and the retry is safe', async () => {
    const { res: reg } = await register('dur-1');
    expect(reg.status).toBe(201);
    // The registration is on the replica already when the 201 is read.
    expect(await replicaClient.dbsize()).toBeGreaterThan(0);
    const ok = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'dur-1', changes: ['content'], id: 'dur-ev-1' },
    });
    expect(ok.status).toBe(202);

    // The replica stops acknowledging (paused: it takes no commands from its master either).
    await replicaClient.call('CLIENT', 'PAUSE', '3000', 'ALL');
    const slow = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'dur-1', changes: ['content'], id: 'dur-ev-2' },
    });
    expect(slow.status).toBe(503);
    expect(Number(slow.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(slow.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const problem = (await slow.json()) as { type: string; detail: string };
    expect(problem.type).toMatch(/replication-timeout$/);
    expect(problem.detail).toMatch(/no Redis replica acknowledged the write within 300 ms/);
    const { res: regSlow } = await register('dur-2');
    expect(regSlow.status).toBe(503);

    await replicaClient.call('CLIENT', 'UNPAUSE');
    // The same event again: 202, and it is one event, not two (the id was stored the first time).
    await eventually(
      async () =>
        (
          await h.request('POST', '/v1/events', {
            token: apiKey,
            body: { topic: 'dur-1', changes: ['content'], id: 'dur-ev-2' },
          })
        ).status === 202,
      10_000,
      'the retry accepted',
    );
    const status = await h.request('GET', '/v1/events/dur-ev-2', { token: apiKey });
    expect(status.status).toBe(200);
  }, 30_000);

  it('a fan-out job lost after the 202 (not waited for) is added again by stranded-topic recovery, and the event delivered', async () => {
    const { c, res } = await register('dur-lost');
    expect(res.status).toBe(201);
    // This app has no worker: the event's fan-out job waits in the queue; then it is lost.
    expect(
      (
        await h.request('POST', '/v1/events', {
          token: apiKey,
          body: { topic: 'dur-lost', changes: ['content'], syncToken: 'kept' },
        })
      ).status,
    ).toBe(202);
    const fanout = h.app.get(ShardedQueues).queue(QueueName.Fanout);
    const jobs = (await fanout.getJobs(['waiting', 'delayed'])).filter((j) => j.data.topic === 'dur-lost');
    expect(jobs).toHaveLength(1);
    await jobs[0]!.remove();

    const worker = await startHarness({ DAVPUSH_DURABILITY: 'replicated' }, { api: false, worker: true }, primary);
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(push.received(push.idOf(c))).toHaveLength(0);
      // Recovery picks up topics whose events waited longer than 2 × the coalescing window + 30 s: move the clock on.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 60_000 });
      let recovered: number;
      try {
        recovered = await worker.app.get(MaintenanceProcessor).recoverStranded();
      } finally {
        vi.useRealTimers();
      }
      expect(recovered).toBeGreaterThanOrEqual(1);
      await push.waitFor({ id: push.idOf(c), count: 1 }, 10_000);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('makes a maintenance schedule lost with a failover again, without a worker restart', async () => {
    const worker = await startHarness({ DAVPUSH_DURABILITY: 'replicated' }, { api: false, worker: true }, primary);
    try {
      const maintenance = worker.app.get(MaintenanceProcessor);
      const queue = worker.app.get(ShardedQueues).queue(QueueName.Maintenance);
      expect(await queue.getJobScheduler('recover-stranded')).toMatchObject({ every: 15_000 });
      // As after a failover that lost the master's last writes (replication is asynchronous).
      await queue.removeJobScheduler('recover-stranded');
      expect(await maintenance.ensureSchedules()).toBe(1);
      expect(await queue.getJobScheduler('recover-stranded')).toMatchObject({ every: 15_000 });
      expect(await queue.getJobScheduler('sweep-expired')).toMatchObject({ every: 60_000 });
      expect(await maintenance.ensureSchedules()).toBe(0);
    } finally {
      await worker.close();
    }
  }, 30_000);

  it('readiness reports durability down, naming the master, and the gauge reads 0, while the master has no replica', async () => {
    const ready = await h.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    const up = (
      (await ready.json()) as { details: { durability: { status: string; replicasOnline: Record<string, number> } } }
    ).details.durability;
    expect(up.status).toBe('up');
    const [master] = Object.keys(up.replicasOnline);
    expect(up.replicasOnline).toEqual({ [master!]: 1 });
    expect(await (await h.request('GET', '/metrics')).text()).toContain(
      `davpush_redis_replicas_online{master="${master}"} 1\n`,
    );

    // The replica leaves: every write would now wait in vain (503 replication-timeout).
    await replicaClient.replicaof('NO', 'ONE');
    const notReady = await eventually(
      async () => {
        const r = await h.request('GET', '/health/ready');
        return r.status === 503 && ((await r.json()) as { details: { durability: Record<string, unknown> } });
      },
      10_000,
      'readiness 503',
    );
    expect(notReady.details.durability).toMatchObject({
      status: 'down',
      mode: 'replicated',
      mastersWithoutReplica: [master],
      replicasOnline: { [master!]: 0 },
    });
    await eventually(
      async () =>
        (await (await h.request('GET', '/metrics')).text()).includes(
          `davpush_redis_replicas_online{master="${master}"} 0\n`,
        ),
      10_000,
      'gauge at 0',
    );

    // It comes back: ready again.
    await replicaClient.replicaof('127.0.0.1', primaryPort);
    await eventually(async () => (await h.request('GET', '/health/ready')).status === 200, 15_000, 'ready again');
  }, 30_000);
});
