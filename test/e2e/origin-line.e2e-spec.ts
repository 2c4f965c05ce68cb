import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobPublisher, QueueName } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { eventually, registerWebPush, startHarness, type Harness } from './harness';

/**
 * Backpressure, not bounces (README "Delivery semantics"): the changes of many small topics whose
 * pushes all go to one busy push service are fanned out in the process that accepted them and
 * wait in that origin's line (apps/worker/src/delivery/inline-delivery.ts). A fan-out waiting
 * there has given its fan-out slot back, so more topics than DAVPUSH_FANOUT_CONCURRENCY wait at
 * once, and more pushes than the origin's turn holds: no fan-out job, no delivery job.
 */
describe("a burst of small topics to one busy push service waits in the origin's line", () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;

  beforeAll(async () => {
    // Three requests in flight to the origin (its turn: 100 pushes); three fan-out slots, so at most
    // six fan-outs may wait on one origin.
    h = await startHarness({ DAVPUSH_ORIGIN_CONCURRENCY: '3', DAVPUSH_FANOUT_CONCURRENCY: '3' });
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });

  const done = (id: string) =>
    eventually(
      async () =>
        ((await (await h.request('GET', `/v1/events/${id}`, { token: apiKey })).json()) as { state: string }).state ===
        'done',
      5000,
      `event ${id} done`,
    );

  it('more topics than fan-out slots and more pushes than a turn: every push once, in the process, no job queued', async () => {
    expect((await registerWebPush(h, apiKey, push, 'warm-up')).res.status).toBe(201);
    const topics = Array.from({ length: 6 }, (_, i) => `line-${i}`);
    const clients = new Map<string, WebPushClient[]>();
    for (const topic of topics) {
      const list: WebPushClient[] = [];
      for (let i = 0; i < 20; i++) {
        const { client, res } = await registerWebPush(h, apiKey, push, topic);
        expect(res.status).toBe(201);
        list.push(client);
      }
      clients.set(topic, list);
    }
    // 120 pushes, three at a time, ~15 ms each. The origin has just answered: it counts as busy, not
    // silent (OriginGate.answering), and its pace is known, so its line holds two seconds of it.
    push.setLatency(15);
    const warmUp = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'warm-up', changes: ['content'], urgency: 'high' },
    });
    await done(((await warmUp.json()) as { events: { id: string }[] }).events[0]!.id);
    const ids: string[] = [];
    for (const topic of topics) {
      const res = await h.request('POST', '/v1/events', {
        token: apiKey,
        body: { topic, changes: ['content'], syncToken: `s-${topic}`, urgency: 'high' },
      });
      expect(res.status).toBe(202);
      const id = ((await res.json()) as { events: { id: string }[] }).events[0]!.id;
      ids.push(id);
      // Its fan-out is done once its pushes are counted: they now only wait for the origin.
      await eventually(
        async () => {
          const s = (await (await h.request('GET', `/v1/events/${id}`, { token: apiKey })).json()) as {
            deliveries?: { pending: number; accepted: number };
          };
          return (s.deliveries?.pending ?? 0) + (s.deliveries?.accepted ?? 0) === 20;
        },
        5000,
        `the fan-out of ${topic}`,
      );
    }

    await push.waitFor(121, 30_000);
    for (const [topic, list] of clients)
      for (const c of list) {
        const got = push.received(push.idOf(c)).filter((r) => r.status === 201);
        expect(got).toHaveLength(1);
        expect(push.decryptRecord(got[0]!)).toContain(`<D:sync-token>s-${topic}</D:sync-token>`);
      }
    for (const id of ids) await done(id);
    const publisher = h.app.get(JobPublisher);
    const jobs = [
      ...(await publisher.queue(QueueName.Fanout).getJobs()),
      ...(await publisher.queue(QueueName.DeliverWebPush).getJobs()),
    ].filter((j) => (j.data as { topic: string }).topic.startsWith('line-'));
    expect(
      jobs.map(
        (j) =>
          `${j.queueName} ${j.name} ${(j.data as { topic: string }).topic} ${JSON.stringify((j.data as { registrationIds?: string[] }).registrationIds?.length)}`,
      ),
    ).toEqual([]);
  }, 60_000);
});
