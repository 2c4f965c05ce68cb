import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { JobPublisher, QUEUE_PREFIX, QueueName } from '@davpush/queue';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { ADMIN_TOKEN, eventually, registerWebPush, startHarness, type Harness } from './harness';

const NS = 'https://bitfire.at/webdav-push';
const COALESCE_MS = 1500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** README "Delivery semantics", observed at a local push service. */
describe('delivery semantics', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let topicSeq = 0;
  const topic = () => `collection-${++topicSeq}`;

  beforeAll(async () => {
    h = await startHarness({ DAVPUSH_COALESCE_MS: String(COALESCE_MS) });
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });

  async function register(t: string, trigger?: object, expires?: string) {
    const { client: c, res } = await registerWebPush(h, apiKey, push, t, { trigger, expires });
    expect(res.status).toBe(201);
    return { client: c, id: push.idOf(c), location: res.headers.get('location')! };
  }
  const send = (body: object, headers: Record<string, string> = {}) =>
    h.request('POST', '/v1/events', { token: apiKey, body, headers });
  const messages = (c: WebPushClient) =>
    push
      .received(push.idOf(c))
      .filter((r) => r.status === 201)
      .map((r) => {
        const doc = new DOMParser().parseFromString(c.decrypt(r.body), 'application/xml').documentElement!;
        return {
          syncToken: doc.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
          content: doc.getElementsByTagNameNS(NS, 'content-update').length > 0,
          property: doc.getElementsByTagNameNS(NS, 'property-update').length > 0,
        };
      });

  it('pushes the first change of a quiet topic at once, and merges the rest of a burst into one trailing push with the newest sync-token', async () => {
    const t = topic();
    const a = await register(t);
    const b = await register(t);
    const started = Date.now();
    for (let i = 1; i <= 50; i++)
      expect((await send({ topic: t, changes: ['content'], syncToken: `s${i}` })).status).toBe(202);
    // Leading edge: the first change does not wait for the window.
    const [first] = await push.waitFor({ id: a.id, count: 1 }, 5000);
    expect(first!.receivedAt - started).toBeLessThan(COALESCE_MS);
    await eventually(
      async () => messages(a.client).length === 2 && messages(b.client).length === 2,
      10_000,
      'trailing pushes',
    );
    await sleep(COALESCE_MS + 500);
    for (const c of [a.client, b.client]) {
      const got = messages(c);
      expect(got).toHaveLength(2);
      // The leading push carries what had arrived when it was fanned out (the first change or few).
      expect(Number(got[0]!.syncToken!.slice(1))).toBeLessThan(50);
      expect(got[1]).toEqual({ syncToken: 's50', content: true, property: false });
    }
  });

  it('makes the change after a quiet window a leading push again, and a steady stream one push per window', async () => {
    const t = topic();
    const r = await register(t);
    await send({ topic: t, changes: ['content'], syncToken: 'q1' });
    await eventually(async () => messages(r.client).length === 1, 5000, 'the leading push');
    await sleep(COALESCE_MS + 300);
    const started = Date.now();
    await send({ topic: t, changes: ['content'], syncToken: 'q2' });
    const [, second] = await push.waitFor({ id: r.id, count: 2 }, 5000);
    expect(second!.receivedAt - started).toBeLessThan(COALESCE_MS);
    // Inside the window: held for the trailing push, which opens the next window.
    await send({ topic: t, changes: ['content'], syncToken: 'q3' });
    await sleep(200);
    expect(messages(r.client)).toHaveLength(2);
    await eventually(async () => messages(r.client).length === 3, 5000, 'the trailing push');
    expect(messages(r.client).map((m) => m.syncToken)).toEqual(['q1', 'q2', 'q3']);
  });

  it('queues no fan-out for a topic without registrations, and still records its event (done, nothing to deliver)', async () => {
    const t = topic();
    const res = await send({ topic: t, changes: ['content'], id: 'lonely-1' });
    expect(await res.json()).toMatchObject({ noSubscribers: [t] });
    const s = (await (await h.request('GET', '/v1/events/lonely-1', { token: apiKey })).json()) as object;
    expect(s).toEqual({
      id: 'lonely-1',
      topic: t,
      state: 'done',
      deliveries: { pending: 0, accepted: 0, gone: 0, failed: 0, skipped: 0 },
    });
    const jobs = await h.app
      .get(JobPublisher)
      .queue(QueueName.Fanout)
      .getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => (j.data as { topic: string }).topic === t)).toEqual([]);
    // With a registration, the same topic is queued again.
    const r = await register(t);
    await send({ topic: t, changes: ['content'], syncToken: 'now-heard' });
    await eventually(async () => messages(r.client).length === 1, 5000, 'the push');
  });

  it('never loses a property change by merging', async () => {
    const t = topic();
    const r = await register(t, { contentUpdate: { depth: '1' }, propertyUpdate: { depth: '0' } });
    await send({
      events: [
        { topic: t, changes: ['property'] },
        { topic: t, changes: ['content'], syncToken: 'x2' },
      ],
    });
    await eventually(async () => messages(r.client).length, 10_000, 'a push');
    expect(messages(r.client)).toEqual([{ syncToken: 'x2', content: true, property: true }]);
  });

  it('honours triggers: property-only and content-only registrations hear only their kind', async () => {
    const t = topic();
    const props = await register(t, { propertyUpdate: { depth: '0' } });
    const content = await register(t, { contentUpdate: { depth: '1' } });
    await send({ topic: t, changes: ['content'], syncToken: 'c1' });
    await eventually(async () => messages(content.client).length, 10_000, 'the content push');
    await send({ topic: t, changes: ['property'] });
    await eventually(async () => messages(props.client).length, 10_000, 'the property push');
    await sleep(300);
    expect(messages(content.client)).toEqual([{ syncToken: 'c1', content: true, property: false }]);
    expect(messages(props.client)).toEqual([{ syncToken: undefined, content: false, property: true }]);
  });

  it('does not hold back an urgent event', async () => {
    const t = topic();
    const r = await register(t);
    const started = Date.now();
    await send({ topic: t, changes: ['content'], syncToken: 'now', urgency: 'high' });
    const [rec] = await push.waitFor({ id: r.id, count: 1 }, 5000);
    expect(rec!.receivedAt - started).toBeLessThan(COALESCE_MS);
    expect(rec!.headers.urgency).toBe('high');
  });

  it('delivers an urgent event to a topic of a few registrations inside its fan-out job: no delivery job at all', async () => {
    const queue = new Queue(QueueName.DeliverWebPush, {
      connection: { path: h.redis.socketPath },
      prefix: QUEUE_PREFIX,
    });
    try {
      const jobs = async () => Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
      const t = topic();
      const other = await FakePushService.start();
      try {
        const here = [await register(t), await register(t)];
        const c = other.subscribe();
        expect(
          (
            await h.request('POST', `/v1/topics/${t}/registrations`, {
              token: apiKey,
              body: {
                subscription: {
                  type: 'web-push',
                  pushResource: c.pushResource,
                  publicKey: c.publicKey,
                  authSecret: c.authSecret,
                },
              },
            })
          ).status,
        ).toBe(201);
        const before = await jobs();
        expect((await send({ topic: t, changes: ['content'], syncToken: 'inline', urgency: 'high' })).status).toBe(202);
        await Promise.all([
          ...here.map((r) => push.waitFor({ id: r.id, count: 1 }, 5000)),
          other.waitFor({ id: other.idOf(c), count: 1 }, 5000),
        ]);
        expect(here.map((r) => messages(r.client))).toEqual([
          [{ syncToken: 'inline', content: true, property: false }],
          [{ syncToken: 'inline', content: true, property: false }],
        ]);
        expect(await jobs()).toBe(before);
      } finally {
        await other.stop();
      }
    } finally {
      await queue.close();
    }
  });

  it('skips registrations named in dontNotify for that event only; "*" skips all; garbage is ignored', async () => {
    const t = topic();
    const a = await register(t);
    const b = await register(t);
    await send({ topic: t, changes: ['content'], syncToken: 'd1', dontNotify: [a.location], urgency: 'high' });
    await eventually(async () => messages(b.client).length === 1, 10_000, 'b');
    await send({ topic: t, changes: ['content'], syncToken: 'd2', dontNotify: '*', urgency: 'high' });
    await send({
      topic: t,
      changes: ['content'],
      syncToken: 'd3',
      dontNotify: ['garbage', 42, `${a.location}x`],
      urgency: 'high',
    });
    await eventually(
      async () => messages(a.client).length === 1 && messages(b.client).length === 2,
      10_000,
      'd3 to both',
    );
    await sleep(300);
    expect(messages(a.client).map((m) => m.syncToken)).toEqual(['d3']);
    expect(messages(b.client).map((m) => m.syncToken)).toEqual(['d1', 'd3']);
  });

  it('answers a repeated Idempotency-Key with the first answer and queues nothing', async () => {
    const t = topic();
    const r = await register(t);
    const body = { topic: t, changes: ['content'], syncToken: 'i1', urgency: 'high' };
    const first = await send(body, { 'idempotency-key': 'k-1' });
    await eventually(async () => messages(r.client).length === 1, 10_000, 'first push');
    const again = await send(body, { 'idempotency-key': 'k-1' });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(await first.json());
    expect((await send({ ...body, syncToken: 'other' }, { 'idempotency-key': 'k-1' })).status).toBe(400);
    const repeatedId = { topic: t, changes: ['content'], syncToken: 'i2', urgency: 'high', id: 'evt-42' };
    await send(repeatedId);
    await send(repeatedId);
    await eventually(async () => messages(r.client).length === 2, 10_000, 'event evt-42');
    await sleep(400);
    expect(messages(r.client)).toHaveLength(2);
  });

  it('reports event status, scoped to the tenant', async () => {
    const t = topic();
    await register(t);
    await register(t);
    const res = await send({ topic: t, changes: ['content'], id: 'status-1', urgency: 'high' });
    expect(((await res.json()) as { events: unknown[] }).events).toEqual([{ id: 'status-1', topic: t }]);
    const status = await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/status-1', { token: apiKey })).json()) as {
          state: string;
        };
        return s.state === 'done' && s;
      },
      10_000,
      'done',
    );
    expect(status).toEqual({
      id: 'status-1',
      topic: t,
      state: 'done',
      deliveries: { pending: 0, accepted: 2, gone: 0, failed: 0, skipped: 0 },
    });
    const other = await h.createTenant('other');
    expect((await h.request('GET', '/v1/events/status-1', { token: other.apiKey })).status).toBe(404);
  });

  it('never pushes a registration that expired before the send', async () => {
    const t = topic();
    // A leading push opens the window; the next event waits for its end, by when `quick` has expired.
    const other = await register(t);
    await send({ topic: t, changes: ['content'], syncToken: 'open' });
    await push.waitFor({ id: other.id, count: 1 }, 5000);
    const quick = await register(t, undefined, new Date(Date.now() + 1000).toISOString());
    await send({ topic: t, changes: ['content'], id: 'expired-1' });
    await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/expired-1', { token: apiKey })).json()) as {
          state: string;
        };
        return s.state === 'done';
      },
      10_000,
      'done',
    );
    expect(push.received(quick.id)).toHaveLength(0);

    // Live at fan-out, expired by the retry: the send-time check must catch it.
    const t2 = topic();
    const r = await register(t2, undefined, new Date(Date.now() + 2500).toISOString());
    push.script(r.id, [{ status: 429, headers: { 'retry-after': '3' } }]);
    await send({ topic: t2, changes: ['content'], id: 'expired-2', urgency: 'high' });
    const status = await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/expired-2', { token: apiKey })).json()) as {
          state: string;
        };
        return s.state === 'done' && s;
      },
      10_000,
      'done',
    );
    expect(push.received(r.id)).toHaveLength(1);
    expect(status).toMatchObject({ deliveries: { skipped: 1, accepted: 0 } });
  });

  it('waits for Retry-After on a 429 for that endpoint only', async () => {
    const t = topic();
    const slow = await register(t);
    const fast = await register(t);
    push.script(slow.id, [{ status: 429, headers: { 'retry-after': '2' } }]);
    await send({ topic: t, changes: ['content'], syncToken: 'r1', urgency: 'high' });
    const [fastRec] = await push.waitFor({ id: fast.id, count: 1 }, 5000);
    const recs = await push.waitFor({ id: slow.id, count: 2 }, 10_000);
    expect(recs[1]!.receivedAt - recs[0]!.receivedAt).toBeGreaterThanOrEqual(2000);
    expect(fastRec!.receivedAt - recs[0]!.receivedAt).toBeLessThan(1000);
    expect(recs[1]!.status).toBe(201);
  });

  it('retries 5xx with backoff, and dead-letters when the TTL runs out; replay delivers', async () => {
    const t = topic();
    const r = await register(t);
    push.script(
      r.id,
      Array.from({ length: 30 }, () => ({ status: 503 })),
    );
    await send({ topic: t, changes: ['content'], syncToken: 'ttl', ttl: 3, urgency: 'high', id: 'ttl-1' });
    const item = await eventually(
      async () => {
        const res = await h.request('GET', '/v1/admin/dlq', { token: ADMIN_TOKEN });
        const body = (await res.json()) as { items: { id: string; registrationId: string; reason: string }[] };
        return body.items.find((i) => i.registrationId === r.location.split('/').pop());
      },
      15_000,
      'a dead letter',
    );
    expect(item.reason).toMatch(/TTL/);
    const attempts = push.received(r.id).length;
    expect(attempts).toBeGreaterThan(1);
    expect((await h.request('GET', r.location, { token: apiKey })).status).toBe(200);
    push.reset();
    const replay = await h.request('POST', '/v1/admin/dlq/replay', { token: ADMIN_TOKEN, body: { ids: [item.id] } });
    expect(await replay.json()).toEqual({ replayed: 1, missing: [] });
    await eventually(async () => messages(r.client).some((m) => m.syncToken === 'ttl'), 10_000, 'the replayed push');
  });

  it('does not retry or prune on 401 (our VAPID is wrong), but dead-letters it', async () => {
    const t = topic();
    const r = await register(t);
    push.script(r.id, [{ status: 401 }]);
    await send({ topic: t, changes: ['content'], urgency: 'high', id: 'auth-1' });
    await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/auth-1', { token: apiKey })).json()) as { state: string };
        return s.state === 'done';
      },
      10_000,
      'done',
    );
    await sleep(500);
    expect(push.received(r.id)).toHaveLength(1);
    expect((await h.request('GET', r.location, { token: apiKey })).status).toBe(200);
  });
});
