import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { ADMIN_TOKEN, eventually, registerWebPush, startHarness, type Harness } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  state: string;
  deliveries: { pending: number; accepted: number; gone: number; failed: number; skipped: number };
}

/** README "Delivery semantics": a replayed dead letter is sent again, whatever its dispatch recorded. */
describe('dead-letter replay', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });

  async function register(topic: string) {
    const { client: c, res } = await registerWebPush(h, apiKey, push, topic);
    expect(res.status).toBe(201);
    return { id: push.idOf(c), registrationId: res.headers.get('location')!.split('/').pop()! };
  }
  const status = async (id: string) =>
    (await (await h.request('GET', `/v1/events/${id}`, { token: apiKey })).json()) as Status;

  it('pushes a replayed dead letter once although another delivery of its dispatch is still retrying, and counts it once', async () => {
    const refused = await register('cal-replay');
    const retrying = await register('cal-replay');
    push.script(refused.id, [{ status: 400 }]);
    push.script(
      retrying.id,
      Array.from({ length: 50 }, () => ({ status: 503 })),
    );
    const sent = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'cal-replay', changes: ['content'], syncToken: 'dl-1', urgency: 'high', id: 'replay-1', ttl: 600 },
    });
    expect(sent.status).toBe(202);

    const item = await eventually(
      async () => {
        const res = await h.request('GET', '/v1/admin/dlq', { token: ADMIN_TOKEN });
        const body = (await res.json()) as { items: { id: string; registrationId: string }[] };
        return body.items.find((i) => i.registrationId === refused.registrationId);
      },
      15_000,
      'the refused push dead-lettered',
    );
    // The other delivery is still owed: its dispatch is open, with the refused one settled as failed.
    expect((await status('replay-1')).deliveries).toMatchObject({ pending: 1, failed: 1, accepted: 0 });
    const before = push.received(refused.id).length;

    const replay = await h.request('POST', '/v1/admin/dlq/replay', { token: ADMIN_TOKEN, body: { ids: [item.id] } });
    expect(await replay.json()).toEqual({ replayed: 1, missing: [] });
    const recs = await push.waitFor({ id: refused.id, count: before + 1 }, 10_000);
    await sleep(500);
    expect(push.received(refused.id)).toHaveLength(before + 1);
    expect(recs[before]!.status).toBe(201);
    expect(
      push
        .received(refused.id)
        .slice(before)
        .map((r) => push.decryptRecord(r))[0],
    ).toContain('<D:sync-token>dl-1</D:sync-token>');

    // The dead letter is gone, and the dispatch did not count the delivery a second time.
    const left = (await (await h.request('GET', '/v1/admin/dlq', { token: ADMIN_TOKEN })).json()) as {
      items: { id: string }[];
    };
    expect(left.items.map((i) => i.id)).not.toContain(item.id);
    expect((await status('replay-1')).deliveries).toMatchObject({ pending: 1, failed: 1, accepted: 0 });
  }, 40_000);
});
