import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FcmGateway } from '@davpush/gateways';
import { FakeFcm } from '../fcm/fake-fcm';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { FakePushService } from '../support/fake-push-service';
import { eventually, startHarness, type Harness } from './harness';

/**
 * FCM end to end through the real firebase-admin path: OAuth JWT exchange at the fake's /token,
 * sends checked by the fake (Bearer token it issued, message fields, sizes), nothing mocked in-process.
 */
describe('FCM delivery', () => {
  let account: TestServiceAccount;
  let fcm: FakeFcm;
  let push: FakePushService;
  let h: Harness;
  let apiKey: string;
  let n = 0;

  beforeAll(async () => {
    account = createTestServiceAccount('davpush-e2e');
    fcm = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    push = await FakePushService.start();
    h = await startHarness({
      DAVPUSH_FCM_CREDENTIALS: account.file,
      DAVPUSH_FCM_ENDPOINT: fcm.url,
      DAVPUSH_COALESCE_MS: '50',
    });
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await h?.close();
    await fcm?.close();
    await push?.stop();
    account?.cleanup();
  });

  const token = () => `fcm-token-${++n}-${'x'.repeat(100)}`;
  const registerFcm = (topic: string, t: string, trigger?: object) =>
    h.request('POST', `/v1/topics/${topic}/registrations`, {
      token: apiKey,
      body: { subscription: { type: 'fcm', token: t }, trigger },
    });
  const sendsTo = (t: string) =>
    fcm.sends.filter((r) => (r.body as { message?: { token?: string } }).message?.token === t);

  it('advertises FCM with its project in discovery', async () => {
    const body = (await (await h.request('GET', '/v1/discovery?topic=t', { token: apiKey })).json()) as {
      transports: string[];
      properties: { transports: string };
    };
    expect(body.transports).toEqual(['web-push', 'fcm']);
    expect(body.properties.transports).toContain(account.projectId);
  });

  it('registers an FCM token (JSON and XML), delivers a data message with the exchanged token', async () => {
    const t1 = token();
    const t2 = token();
    const both = { contentUpdate: { depth: '1' }, propertyUpdate: { depth: '0' } };
    const a = await registerFcm('fcm-1', t1, both);
    expect(a.status).toBe(201);
    expect((await registerFcm('fcm-1', t1, both)).status).toBe(204);
    const xml = `<P:push-register xmlns:P="https://bitfire.at/webdav-push" xmlns:X="https://davpush.dev/ns"><P:subscription><X:fcm-subscription><X:token>${t2}</X:token></X:fcm-subscription></P:subscription></P:push-register>`;
    const b = await h.request('POST', '/v1/topics/fcm-1/registrations', {
      token: apiKey,
      body: xml,
      headers: { 'content-type': 'application/xml' },
    });
    expect(b.status).toBe(201);
    expect(b.headers.get('location')).toMatch(/\/v1\/registrations\//);

    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'fcm-1', changes: ['content', 'property'], syncToken: 'S-9', urgency: 'high', ttl: 600 },
    });
    await eventually(async () => sendsTo(t1).length && sendsTo(t2).length, 15_000, 'both FCM sends');
    const send = sendsTo(t1)[0]!;
    expect(send.status).toBe(200);
    expect(fcm.issuedTokens.has(send.bearer!)).toBe(true);
    expect(fcm.tokenRequests.length).toBeGreaterThanOrEqual(1);
    const message = (send.body as { message: Record<string, any> }).message;
    expect(message.data).toMatchObject({ topic: 'fcm-1', changes: 'content,property', sync_token: 'S-9' });
    expect(message.data.push_message).toContain('<D:sync-token>S-9</D:sync-token>');
    expect(message.android.priority).toMatch(/high/i);
    expect(message.android.ttl).toMatch(/^(5\d\d|600)(\.\d+)?s$/);
    expect(message.android.collapse_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('prunes a registration whose token is UNREGISTERED', async () => {
    const t = token();
    const res = await registerFcm('fcm-gone', t);
    const location = res.headers.get('location')!;
    fcm.failToken(t, 'UNREGISTERED');
    await h.request('POST', '/v1/events', { token: apiKey, body: { topic: 'fcm-gone', changes: ['content'] } });
    await eventually(async () => (await h.request('GET', location, { token: apiKey })).status === 404, 15_000, 'prune');
    expect(sendsTo(t).map((r) => r.status)).toEqual([404]);
  });

  it('delays only the throttled message until Retry-After', async () => {
    const slow = token();
    const fast = token();
    await registerFcm('fcm-429', slow);
    await registerFcm('fcm-429', fast);
    fcm.failToken(slow, 'QUOTA_EXCEEDED', '2');
    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'fcm-429', changes: ['content'], syncToken: 'q' },
    });
    await eventually(async () => sendsTo(slow).length === 1 && sendsTo(fast).length === 1, 15_000, 'first attempts');
    fcm.recoverToken(slow);
    const first = sendsTo(slow)[0]!;
    expect(first.status).toBe(429);
    const retry = await eventually(async () => sendsTo(slow).find((r) => r.status === 200), 15_000, 'the retry');
    expect(retry.at - first.at).toBeGreaterThanOrEqual(2000);
    expect(sendsTo(fast)).toHaveLength(1);
  });

  it('delivers to Web Push and FCM registrations of one topic', async () => {
    const t = token();
    const c = push.subscribe();
    await registerFcm('mixed', t);
    await h.request('POST', '/v1/topics/mixed/registrations', {
      token: apiKey,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: c.publicKey,
          authSecret: c.authSecret,
        },
      },
    });
    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'mixed', changes: ['content'], syncToken: 'm1' },
    });
    await eventually(
      async () => sendsTo(t).length === 1 && push.received(push.idOf(c)).length === 1,
      15_000,
      'both transports',
    );
    expect(c.decrypt(push.received(push.idOf(c))[0]!.body)).toContain('m1');
  });

  it('sends 1,200 FCM registrations of one topic in 3 sendEach batches', async () => {
    const tokens = Array.from({ length: 1200 }, token);
    for (let i = 0; i < tokens.length; i += 100)
      await Promise.all(tokens.slice(i, i + 100).map((t) => registerFcm('big-fcm', t)));
    const gateway = h.app.get(FcmGateway);
    const before = gateway.stats.batches;
    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'big-fcm', changes: ['content'], syncToken: 'big' },
    });
    await eventually(async () => tokens.every((t) => sendsTo(t).length === 1), 30_000, '1,200 sends');
    expect(gateway.stats.batches - before).toBe(3);
  }, 60_000);
});
