import { DOMParser } from '@xmldom/xmldom';
import { beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { RedisCluster } from '../support/redis-cluster';
import type { WebPushClient } from '../support/webpush-client';
import { specSampleRegister } from '../e2e/push-documents';
import { eventually, type Harness } from '../e2e/harness';
import { useClusterWorld } from './cluster-world';

const NS = 'https://bitfire.at/webdav-push';
const COALESCE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * davpush's core path on a real Redis Cluster (3 masters + 3 replicas, REDIS_CLUSTER_NODES):
 * tenant, registration (XML and JSON), event → encrypted Web Push, coalescing, 410 pruning, event
 * status — the same API the single-node e2e tests (test/e2e/) drive.
 */
describe('core path on a Redis Cluster', () => {
  const w = useClusterWorld({ DAVPUSH_COALESCE_MS: String(COALESCE_MS) });
  let cluster: RedisCluster;
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let n = 0;
  const topic = () => `cl-${++n}-${Date.now().toString(36)}`;
  beforeAll(() => {
    ({ cluster, h, push, apiKey } = w);
  });

  const send = (body: object) => h.request('POST', '/v1/events', { token: apiKey, body });
  const registerJson = (t: string) => w.registerJson(t);

  const messages = (c: WebPushClient) =>
    push
      .received(push.idOf(c))
      .filter((r) => r.status === 201)
      .map((r) => {
        const doc = new DOMParser().parseFromString(c.decrypt(r.body), 'application/xml').documentElement!;
        return {
          topic: doc.getElementsByTagNameNS(NS, 'topic')[0]?.textContent ?? undefined,
          syncToken: doc.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
        };
      });

  it('registers with the WebDAV-Push XML document and delivers a decryptable push', async () => {
    const t = topic();
    const c = push.subscribe();
    const res = await h.request('POST', `/v1/topics/${t}/registrations`, {
      token: apiKey,
      body: specSampleRegister(c, new Date(Date.now() + 3 * 86400_000).toUTCString()),
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.status).toBe(201);
    expect((await h.request('GET', res.headers.get('location')!, { token: apiKey })).status).toBe(200);
    expect((await send({ topic: t, changes: ['content'], syncToken: 'x1' })).status).toBe(202);
    await eventually(async () => messages(c).length === 1, 10_000, 'the push');
    expect(messages(c)).toEqual([{ topic: t, syncToken: 'x1' }]);
  });

  it('registers with JSON, coalesces a burst into a leading and a trailing push, and reports event status', async () => {
    const t = topic();
    const a = await registerJson(t);
    const b = await registerJson(t);
    for (let i = 1; i <= 10; i++)
      expect((await send({ topic: t, changes: ['content'], syncToken: `s${i}` })).status).toBe(202);
    await eventually(
      async () => messages(a.client).length === 2 && messages(b.client).length === 2,
      15_000,
      'leading + trailing pushes',
    );
    await sleep(COALESCE_MS + 300);
    for (const c of [a.client, b.client]) {
      expect(messages(c)).toHaveLength(2);
      expect(messages(c)[1]).toEqual({ topic: t, syncToken: 's10' });
    }

    const res = await send({ topic: t, changes: ['content'], id: 'cl-status-1', urgency: 'high' });
    expect(res.status).toBe(202);
    const status = await eventually(
      async () => {
        const s = (await (await h.request('GET', '/v1/events/cl-status-1', { token: apiKey })).json()) as {
          state: string;
        };
        return s.state === 'done' && s;
      },
      10_000,
      'event done',
    );
    expect(status).toEqual({
      id: 'cl-status-1',
      topic: t,
      state: 'done',
      deliveries: { pending: 0, accepted: 2, gone: 0, failed: 0, skipped: 0 },
    });
  });

  it('prunes a registration the push service answers 410 for', async () => {
    const t = topic();
    const r = await registerJson(t);
    push.gone(r.id);
    await send({ topic: t, changes: ['content'], syncToken: 'g' });
    await eventually(
      async () => (await h.request('GET', r.location, { token: apiKey })).status === 404,
      10_000,
      'the registration to be pruned',
    );
    const again = await send({ topic: t, changes: ['content'] });
    expect(((await again.json()) as { noSubscribers: string[] }).noSubscribers).toEqual([t]);
  });

  it('survives SCRIPT FLUSH on every node (NOSCRIPT, as on a just-promoted replica): the next event is 202 and delivered', async () => {
    const t = topic();
    const r = await registerJson(t);
    expect((await send({ topic: t, changes: ['content'], syncToken: 'before' })).status).toBe(202);
    await eventually(async () => messages(r.client).length === 1, 10_000, 'the push before the flush');
    await sleep(COALESCE_MS + 200);

    for (const node of cluster.nodes) expect((await cluster.cli(node, 'SCRIPT', 'FLUSH')).trim()).toBe('OK');
    const masters = (
      await Promise.all(
        cluster.nodes.map(async (node) => ((await cluster.cli(node, 'ROLE')).startsWith('master') ? node : undefined)),
      )
    ).filter((m) => !!m);
    expect(masters.length).toBe(3);

    // Tenant auth, event accept (a pipelined script), claim, delivery ledger and BullMQ's own scripts all run again.
    expect((await send({ topic: t, changes: ['content'], syncToken: 'after' })).status).toBe(202);
    await eventually(async () => messages(r.client).length === 2, 10_000, 'the push after the flush');
    expect(messages(r.client).map((m) => m.syncToken)).toEqual(['before', 'after']);
    const late = await registerJson(t);
    expect(late.location).toBeTruthy();
  });
});
