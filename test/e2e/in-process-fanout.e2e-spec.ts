import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ChangeEvent } from '@davpush/domain';
import { Worker } from 'bullmq';
import { AppConfig } from '@davpush/config';
import { JobName, JobPublisher, QueueName, bullConnection, type FanoutJobData } from '@davpush/queue';
import { DispatchStore, EventStore, FanoutLeaseStore, RedisService, dispatchIdFor } from '@davpush/storage';
import { FanoutProcessor } from '../../apps/worker/src/fan-out/fanout.processor';
import { FanoutService, type FanoutRun } from '../../apps/worker/src/fan-out/fanout.service';
import { MaintenanceProcessor } from '../../apps/worker/src/maintenance/maintenance.processor';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { eventually, registerWebPush, startHarness, type Harness } from './harness';

/**
 * A leading or urgent change fanned out in the process that accepted it, without a queued job
 * (apps/worker/src/fan-out/in-process-fanout.ts), and what happens when that process dies or the
 * fan-out fails there: the dispatch's lease lapses and the stranded sweep resumes it through the
 * queue, each registration pushed once.
 */
describe('fan-out in the accepting process', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let tenantId: string;

  beforeAll(async () => {
    // A short job lock: leases last as long (and are renewed every half of it).
    h = await startHarness({ DAVPUSH_JOB_LOCK_MS: '2000', DAVPUSH_COALESCE_MS: '1000' });
    push = await FakePushService.start();
    ({ id: tenantId, apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });
  beforeEach(() => push.reset());

  const register = async (topic: string, n: number): Promise<WebPushClient[]> => {
    const clients: WebPushClient[] = [];
    for (let i = 0; i < n; i++) {
      const { client, res } = await registerWebPush(h, apiKey, push, topic);
      expect(res.status).toBe(201);
      clients.push(client);
    }
    return clients;
  };
  const post = async (topic: string, syncToken: string, urgency = 'high') => {
    const res = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic, changes: ['content'], syncToken, urgency },
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { events: { id: string }[] }).events[0]!.id;
  };
  const fanoutJobs = async (topic: string) =>
    (await h.app.get(JobPublisher).queue(QueueName.Fanout).getJobs()).filter((j) => j.data.topic === topic);
  const tokensOf = (c: WebPushClient) =>
    push.received(push.idOf(c)).map((r) => /sync-token>([^<]*)</.exec(c.decrypt(r.body))?.[1]);
  /** Every lease there is, lapsed or not: the dispatch ids of the members of every lease bucket. */
  const leases = async () => {
    const client = h.app.get(RedisService).client;
    const members = (
      await Promise.all((await client.keys('{lease.*}')).map((k) => client.zrange(k, '0', '-1')))
    ).flat();
    return members.map((m) => ({ dispatchId: (JSON.parse(m) as string[])[2]! }));
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** The sweep as it runs a minute later (stranded topics are looked at after 2 × window + 30 s). */
  const sweepLater = async (ms = 60_000) => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + ms });
    try {
      return await h.app.get(MaintenanceProcessor).recoverStranded();
    } finally {
      vi.useRealTimers();
    }
  };
  /** What an in-process fan-out has done when its process dies right after its claim. */
  const claimThenDie = async (topic: string, syncToken: string) => {
    const event: ChangeEvent = {
      id: `e-${topic}`,
      tenantId,
      topic,
      changes: ['content'],
      syncToken,
      urgency: 'high',
      ttl: 3600,
      dontNotify: [],
      receivedAt: Date.now(),
    };
    expect((await h.app.get(EventStore).accept([event], 1000))[0]).toMatchObject({ parked: 'leading' });
    const lease = { tenantId, topic, dispatchId: dispatchIdFor(tenantId, topic, 'l-died') };
    await h.app.get(FanoutLeaseStore).take(lease, 300);
    return { event, lease };
  };

  it('pushes an urgent change without queuing a fan-out job, and leaves no lease behind', async () => {
    const clients = await register('direct', 3);
    const id = await post('direct', 'd1');
    await push.waitFor(3);
    expect(clients.map(tokensOf)).toEqual([['d1'], ['d1'], ['d1']]);
    expect(await fanoutJobs('direct')).toEqual([]);
    await eventually(
      async () => {
        const s = await h.request('GET', `/v1/events/${id}`, { token: apiKey });
        return ((await s.json()) as { state: string }).state === 'done';
      },
      5000,
      'the event done',
    );
    await eventually(async () => (await leases()).length === 0, 5000, 'the lease released');
  });

  it('still queues the trailing push of a coalescing window', async () => {
    const clients = await register('trailing', 1);
    await post('trailing', 't1', 'normal');
    await post('trailing', 't2', 'normal');
    expect(await fanoutJobs('trailing')).toHaveLength(1);
    await push.waitFor(2, 5000);
    expect(tokensOf(clients[0]!)).toEqual(['t1', 't2']);
  });

  it('resumes a dispatch whose process died after its claim, once its lease lapsed: each registration pushed once', async () => {
    const clients = await register('died', 4);
    const { event, lease } = await claimThenDie('died', 'died-1');
    await h.app.get(DispatchStore).claimAndList(tenantId, 'died', lease.dispatchId, Date.now(), 1000, 1000);
    // Nothing while the lease holds (leases end by Redis's clock, not this one).
    expect(await sweepLater()).toBe(0);
    await sleep(400);
    expect(await sweepLater()).toBe(1);
    await push.waitFor(4, 10_000);
    expect(clients.map(tokensOf)).toEqual(clients.map(() => ['died-1']));
    const status = await h.request('GET', `/v1/events/${event.id}`, { token: apiKey });
    expect(await status.json()).toMatchObject({ state: 'done', deliveries: { accepted: 4, pending: 0 } });
    // Resumed and complete: the next sweep drops the lease, and queues nothing more.
    await eventually(async () => (await sweepLater()) === 0 && (await leases()).length === 0, 5000, 'lease dropped');
    await new Promise((r) => setTimeout(r, 300));
    expect(clients.map(tokensOf)).toEqual(clients.map(() => ['died-1']));
  });

  it('queues the events of a process that died between lease and claim, and does not resume its lease', async () => {
    const clients = await register('before-claim', 2);
    const { lease } = await claimThenDie('before-claim', 'bc-1');
    await sleep(400);
    // The stranded topic is queued; the lapsed lease claimed nothing: not resumed, and kept a while
    // (its process may only have stalled before its claim, and takes it again at its next renewal).
    expect(await sweepLater()).toBe(1);
    await push.waitFor(2, 10_000);
    expect(clients.map(tokensOf)).toEqual([['bc-1'], ['bc-1']]);
    expect((await leases()).map((l) => l.dispatchId)).toEqual([lease.dispatchId]);
    expect(await fanoutJobs('before-claim')).not.toContainEqual(expect.objectContaining({ name: 'resume-fanout' }));
    await h.app.get(FanoutLeaseStore).release(lease);
  });

  it('keeps the lease of a fan-out that runs longer than the job lock: no resume while it runs', async () => {
    const clients = await register('slow', 2);
    push.setLatency(3000);
    try {
      await post('slow', 's1');
      await push.waitFor(2, 5000);
      // Past the 2 s lock the lease still holds: renewed every second.
      await sleep(2500);
      expect(await leases()).toHaveLength(1);
      expect(await h.app.get(MaintenanceProcessor).recoverStranded()).toBe(0);
      expect(await fanoutJobs('slow')).toEqual([]);
    } finally {
      push.setLatency(0);
    }
    await eventually(async () => (await leases()).length === 0, 5000, 'the lease released');
    expect(clients.map(tokensOf)).toEqual([['s1'], ['s1']]);
  });

  it('hands a fan-out that fails in the process to the queue, which finishes it', async () => {
    const clients = await register('fails', 2);
    const fanout = h.app.get(FanoutService);
    const original = fanout.fanOut.bind(fanout);
    const spy = vi
      .spyOn(fanout, 'fanOut')
      .mockImplementationOnce(async (dispatchId, job) => {
        // Claimed, then failed before any push (as a Redis error half-way would).
        await h.app.get(DispatchStore).claimAndList(job.tenantId, job.topic, dispatchId, Date.now(), 1000, 1000);
        throw new Error('injected failure');
      })
      .mockImplementation(original);
    try {
      await post('fails', 'f1');
      await push.waitFor(2, 10_000);
      expect(clients.map(tokensOf)).toEqual([['f1'], ['f1']]);
      const jobs = await fanoutJobs('fails');
      expect(jobs.map((j) => j.id)).toEqual([expect.stringMatching(/^resume-/)]);
      expect(spy.mock.calls[1]![2]).toEqual({ rerun: true }); // the queued run is a re-run of the same dispatch
      expect(spy.mock.calls[1]![0]).toBe(spy.mock.calls[0]![0]);
      await eventually(async () => (await leases()).length === 0, 5000, 'the lease released');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('resume jobs', () => {
  let h: Harness;
  beforeAll(async () => {
    // No worker role: the queue is read by this test only.
    h = await startHarness({}, { api: true, worker: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('tries a resume job that used up its attempts again rather than leaving its lease waiting on it', async () => {
    const publisher = h.app.get(JobPublisher);
    const queue = publisher.queue(QueueName.Fanout);
    const data = { tenantId: 't1', topic: 'gave-up', dispatchId: dispatchIdFor('t1', 'gave-up', 'l-gave-up') };
    const id = `resume-${data.dispatchId}`;
    // As if an earlier sweep had queued it and every attempt had failed.
    await queue.add(JobName.ResumeFanout, data, { jobId: id, attempts: 1 });
    const failing = new Worker(
      queue.name,
      () => {
        throw new Error('Redis went away');
      },
      { connection: bullConnection(h.app.get(AppConfig)), prefix: queue.opts.prefix },
    );
    try {
      await eventually(async () => (await queue.getJobState(id)) === 'failed', 5000, 'the job failed');
    } finally {
      await failing.close();
    }
    await publisher.resumeFanout(data);
    expect(await queue.getJobState(id)).toBe('waiting');
    // A job still waiting is left as it is.
    await publisher.resumeFanout(data);
    expect(await queue.getJobCounts('waiting', 'failed')).toMatchObject({ waiting: 1, failed: 0 });
  });

  it('runs a resume queued under the fan-out job name by an earlier version as that dispatch', async () => {
    const processor = new FanoutProcessor({
      fanOut: async (dispatchId: string, job: FanoutJobData, run?: FanoutRun) => {
        calls.push([dispatchId, job.topic, run?.rerun]);
        return { queued: 0, skipped: 0 };
      },
    } as unknown as FanoutService);
    const calls: unknown[][] = [];
    const data = { tenantId: 't1', topic: 'old', dispatchId: dispatchIdFor('t1', 'old', 'l-old') };
    await processor.process({ data, queueName: 'fanout', id: 'resume-x', attemptsMade: 0, stalledCounter: 0 } as never);
    expect(calls).toEqual([[data.dispatchId, 'old', true]]);
  });
});
