import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { ADMIN_TOKEN, eventually, startHarness, type Harness } from '../e2e/harness';
import { diff, idOf, registrationKeysOf, snapshot, tenantPatterns, type Snapshot } from './support';

/**
 * docs/security.md "Isolation between tenants": tenant A can neither read, change, delete, register into nor notify anything of
 * tenant B. Every refusal is the 404 an unknown object gets (never a 403 that confirms it exists),
 * B's stored data is byte-for-byte unchanged afterwards, and B's devices receive nothing.
 */
describe('tenant isolation', () => {
  let h: Harness;
  let push: FakePushService;
  let redis: Redis;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  const bClients: WebPushClient[] = [];
  const bRegs: string[] = [];
  let bBound: string;
  let bEventId: string;
  let bKeys: Snapshot;

  const register = (key: string, topic: string, c: WebPushClient, principal?: string) =>
    h.request('POST', `/v1/topics/${encodeURIComponent(topic)}/registrations`, {
      token: key,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: c.publicKey,
          authSecret: c.authSecret,
        },
      },
      headers: principal ? { 'x-davpush-principal': principal } : {},
    });
  const bSnapshot = async () => {
    const s = await snapshot(redis, [...tenantPatterns(b.id), ...bRegs.flatMap(registrationKeysOf)]);
    // A topic's coalescing window marker lapses by itself one window after B's own last push.
    for (const k of s.keys()) if (k.endsWith(':w')) s.delete(k);
    return s;
  };
  /** Until every delivery of the event is settled: `done` alone can be read before the fan-out counted them. */
  const eventDone = (key: string, id: string, accepted: number) =>
    eventually(
      async () => {
        const s = (await (await h.request('GET', `/v1/events/${id}`, { token: key })).json()) as {
          state: string;
          deliveries: { accepted: number };
        };
        return s.state === 'done' && s.deliveries.accepted === accepted && s;
      },
      15_000,
      `event ${id} delivered ${accepted} time(s)`,
    );

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    redis = new Redis({ path: h.redis.socketPath });
    a = await h.createTenant('tenant-a');
    b = await h.createTenant('tenant-b');
    // B: two clients on "cal" (one bound to principal bob), one on "contacts".
    for (const [topic, principal] of [
      ['cal', undefined],
      ['cal', 'bob'],
      ['contacts', undefined],
    ] as const) {
      const c = push.subscribe();
      const res = await register(b.apiKey, topic, c, principal);
      if (res.status !== 201) throw new Error(`setup: registration answered ${res.status}`);
      bClients.push(c);
      bRegs.push(idOf(res.headers.get('location')));
    }
    bBound = bRegs[1]!;
    const ev = await h.request('POST', '/v1/events', {
      token: b.apiKey,
      body: { topic: 'cal', changes: ['content'], syncToken: 'b-1', id: 'shared-event-id' },
    });
    if (ev.status !== 202) throw new Error(`setup: event answered ${ev.status}`);
    bEventId = 'shared-event-id';
    await eventDone(b.apiKey, bEventId, 2);
    await push.waitFor(2);
    push.reset();
    bKeys = await bSnapshot();
    if (bKeys.size < 5) throw new Error(`setup: B's snapshot holds only ${bKeys.size} keys`);
  });

  afterAll(async () => {
    redis?.disconnect();
    await push?.stop();
    await h?.close();
  });

  describe("A's key on B's objects answers 404, like an unknown id", () => {
    it.each([
      ['GET a registration', 'GET', () => `/v1/registrations/${bRegs[0]}`, {}],
      [
        'GET a bound registration naming its principal',
        'GET',
        () => `/v1/registrations/${bBound}`,
        { 'x-davpush-principal': 'bob' },
      ],
      ['DELETE a registration', 'DELETE', () => `/v1/registrations/${bRegs[0]}`, {}],
      [
        'DELETE a bound registration naming its principal',
        'DELETE',
        () => `/v1/registrations/${bBound}`,
        { 'x-davpush-principal': 'bob' },
      ],
      ['GET event status', 'GET', () => `/v1/events/${bEventId}`, {}],
    ])('%s', async (_what, method, path, headers) => {
      const res = await h.request(method, path(), { token: a.apiKey, headers });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toMatch(/principal|tenant-b|forbidden/i);
    });

    it("an unknown id gets exactly the same answer as B's id", async () => {
      const theirs = await h.request('GET', `/v1/registrations/${bRegs[0]}`, { token: a.apiKey });
      const unknown = await h.request('GET', `/v1/registrations/${'A'.repeat(22)}`, { token: a.apiKey });
      expect([theirs.status, (await theirs.json()) as unknown]).toEqual([
        unknown.status,
        (await unknown.json()) as unknown,
      ]);
    });
  });

  it("registering B's exact subscription under A makes A's own registration, not a change to B's", async () => {
    const res = await register(a.apiKey, 'cal', bClients[0]!);
    expect(res.status).toBe(201);
    const aId = idOf(res.headers.get('location'));
    expect(bRegs).not.toContain(aId);
    // B's bound subscription too: the principal binding is per tenant, so no 403 leaks it either.
    const bound = await register(a.apiKey, 'cal', bClients[1]!, 'mallory');
    expect(bound.status).toBe(201);
    expect((await h.request('DELETE', `/v1/registrations/${aId}`, { token: a.apiKey })).status).toBe(204);
    expect(
      (
        await h.request('DELETE', bound.headers.get('location')!, {
          token: a.apiKey,
          headers: { 'x-davpush-principal': 'mallory' },
        })
      ).status,
    ).toBe(204);
  });

  it("A's events on the same topic names never reach B's devices; B's event status is untouched", async () => {
    const mine = push.subscribe();
    expect((await register(a.apiKey, 'cal', mine)).status).toBe(201);
    const res = await h.request('POST', '/v1/events', {
      token: a.apiKey,
      body: {
        events: [
          // The same event id as B's: ids are per tenant, so this is A's own new event.
          {
            topic: 'cal',
            changes: ['content', 'property'],
            syncToken: 'a-1',
            id: bEventId,
            dontNotify: [`${h.baseUrl}/v1/registrations/${bRegs[0]}`],
          },
          { topic: 'contacts', changes: ['content'], syncToken: 'a-2' },
        ],
      },
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { events: { id: string }[]; noSubscribers: string[] };
    expect(body.events[0]!.id).toBe(bEventId);
    // B has subscribers on "contacts"; A does not, and is told so.
    expect(body.noSubscribers).toEqual(['contacts']);
    await eventDone(a.apiKey, bEventId, 1);
    await push.waitFor({ id: push.idOf(mine) });
    // Give any wrongly queued delivery to B's devices time to show up.
    await new Promise((r) => setTimeout(r, 500));
    expect(push.received().map((r) => r.id)).toEqual([push.idOf(mine)]);
    const bStatus = (await (await h.request('GET', `/v1/events/${bEventId}`, { token: b.apiKey })).json()) as Record<
      string,
      unknown
    >;
    expect(bStatus).toMatchObject({ id: bEventId, topic: 'cal', state: 'done', deliveries: { accepted: 2 } });
  });

  it('the same Idempotency-Key under two tenants gives each its own answer', async () => {
    const body = { topic: 'cal', changes: ['content'], syncToken: 'idem' };
    const first = await h.request('POST', '/v1/events', {
      token: b.apiKey,
      body,
      headers: { 'idempotency-key': 'k-1' },
    });
    const other = await h.request('POST', '/v1/events', {
      token: a.apiKey,
      body,
      headers: { 'idempotency-key': 'k-1' },
    });
    const [x, y] = (await Promise.all([first.json(), other.json()])) as { events: { id: string }[] }[];
    expect([first.status, other.status]).toEqual([202, 202]);
    expect(x!.events[0]!.id).not.toBe(y!.events[0]!.id);
    await eventDone(b.apiKey, x!.events[0]!.id, 2);
    await push.waitFor(3);
    push.reset();
    bKeys = await bSnapshot();
  });

  it('a tenant key opens none of the admin endpoints, for any tenant (401)', async () => {
    for (const [method, path] of [
      ['GET', '/v1/tenants'],
      ['POST', '/v1/tenants'],
      ['GET', `/v1/tenants/${b.id}`],
      ['POST', `/v1/tenants/${b.id}/rotate-key`],
      ['POST', `/v1/tenants/${b.id}/revoke`],
      ['DELETE', `/v1/tenants/${b.id}`],
      ['GET', '/v1/admin/dlq'],
      ['POST', '/v1/admin/dlq/replay'],
    ] as const) {
      for (const token of [a.apiKey, b.apiKey])
        expect(
          (await h.request(method, path, { token, body: method === 'POST' ? {} : undefined })).status,
          `${method} ${path}`,
        ).toBe(401);
    }
    expect((await h.request('GET', `/v1/tenants/${b.id}`, { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it("after all of A's attempts, B's stored data is unchanged and B still reads it", async () => {
    const after = await bSnapshot();
    expect(diff(bKeys, after)).toEqual({ added: [], removed: [], changed: [] });
    for (const id of [bRegs[0], bRegs[2]])
      expect((await h.request('GET', `/v1/registrations/${id}`, { token: b.apiKey })).status).toBe(200);
    expect(
      (
        await h.request('GET', `/v1/registrations/${bBound}`, {
          token: b.apiKey,
          headers: { 'x-davpush-principal': 'bob' },
        })
      ).status,
    ).toBe(200);
  });

  describe('a registration bound to a principal (X-Davpush-Principal)', () => {
    const get = (headers: Record<string, string>) =>
      h.request('GET', `/v1/registrations/${bBound}`, { token: b.apiKey, headers });

    it('is shown through the tenant API only to its principal', async () => {
      expect((await get({ 'x-davpush-principal': 'bob' })).status).toBe(200);
      expect((await get({ 'x-davpush-principal': 'alice' })).status).toBe(404);
      expect((await get({})).status).toBe(404);
    });

    it('is deleted through the tenant API only by its principal, and never by a different one', async () => {
      const del = (token: string | undefined, headers: Record<string, string>) =>
        h.request('DELETE', `/v1/registrations/${bBound}`, { token, headers });
      expect((await del(b.apiKey, {})).status).toBe(404);
      expect((await del(b.apiKey, { 'x-davpush-principal': 'alice' })).status).toBe(404);
      // The capability URL alone is enough (docs/security.md "Registrations"), but not when it names someone else.
      expect((await del(undefined, { 'x-davpush-principal': 'alice' })).status).toBe(404);
      expect((await get({ 'x-davpush-principal': 'bob' })).status).toBe(200);
      expect((await del(undefined, {})).status).toBe(204);
      expect((await get({ 'x-davpush-principal': 'bob' })).status).toBe(404);
    });
  });

  it('hands out registration ids of at least 128 random bits', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const res = await register(a.apiKey, 'ids', push.subscribe());
      const id = idOf(res.headers.get('location'));
      expect(id).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      expect(Buffer.from(id, 'base64url').length).toBeGreaterThanOrEqual(16);
      ids.add(id);
    }
    expect(ids.size).toBe(50);
  });
});
