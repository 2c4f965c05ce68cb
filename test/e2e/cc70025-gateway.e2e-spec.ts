import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeFcm } from '../fcm/fake-fcm';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { CC, gatewayCall, inSeconds, pushMessage, receivedFor, webPushData, WP } from './cc70025-support';
import { eventually, startHarness, type Harness } from './harness';

interface Transport {
  transport: { 'transport-uri': string; 'refresh-interval': number; 'transport-data': Record<string, string> };
}

/**
 * An application server speaking CC/CD 70025 (draft-gajda-dav-push-00) to davpush: bootstrap,
 * subscribe a Web Push client and an FCM client for two topics, push, and check what the fake push
 * service decrypts and what the fake FCM receives. Real app, real Redis, real web-push and
 * firebase-admin code paths.
 */
describe('CC/CD 70025 push gateway, end to end', () => {
  let account: TestServiceAccount;
  let fcm: FakeFcm;
  let push: FakePushService;
  let h: Harness;
  let apiKey: string;
  let transports: Transport[];
  let webPushUri: string;
  let fcmUri: string;
  let wp: WebPushClient;
  const fcmToken = `cc-fcm-token-${'y'.repeat(120)}`;

  const gateway = (body: unknown, headers: Record<string, string> = {}) => gatewayCall(h, apiKey, body, headers);
  const fcmSends = (topic: string) =>
    fcm.sends.filter((r) => {
      const m = (r.body as { message?: { token?: string; data?: { topic?: string } } }).message;
      return m?.token === fcmToken && m.data?.topic === topic;
    });
  const wpReceived = (c: WebPushClient, topic: string) => receivedFor(push, c, topic);

  beforeAll(async () => {
    account = createTestServiceAccount('davpush-cc');
    fcm = await FakeFcm.start({
      projectId: account.projectId,
      clientEmail: account.clientEmail,
      publicKey: account.publicKey,
    });
    push = await FakePushService.start();
    h = await startHarness({ DAVPUSH_FCM_CREDENTIALS: account.file, DAVPUSH_FCM_ENDPOINT: fcm.url });
    ({ apiKey } = await h.createTenant('cc-app-server'));
    wp = push.subscribe();
  });
  afterAll(async () => {
    await h?.close();
    await fcm?.close();
    await push?.stop();
    account?.cleanup();
  });

  it('bootstraps: both transports with refresh-interval and flat transport-data (§5.1)', async () => {
    const res = await gateway({ 'push-transports': [] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { 'push-transports': Transport[] };
    transports = body['push-transports'];
    expect(transports).toHaveLength(2);
    [webPushUri, fcmUri] = transports.map((t) => t.transport['transport-uri']);
    const discovery = (await (await h.request('GET', '/v1/discovery?topic=123', { token: apiKey })).json()) as {
      vapidPublicKey: string;
    };
    expect(transports[0]).toEqual({
      transport: {
        'transport-uri': `${h.baseUrl}/v1/gateway/transports/web-push`,
        'refresh-interval': 172800,
        'transport-data': { 'vapid-public-key': discovery.vapidPublicKey },
      },
    });
    expect(transports[1]).toEqual({
      transport: {
        'transport-uri': `${h.baseUrl}/v1/gateway/transports/fcm`,
        'refresh-interval': 172800,
        'transport-data': { 'project-id': account.projectId },
      },
    });
  });

  it('answers discovery in the cc70025 dialect with the four properties, ready to embed (§5.2.3.1, §6.2.1)', async () => {
    // The push-subscribe-URL is the calendar server's own relay (§6.2.1.1): required, and named when missing.
    const missing = await h.request('GET', '/v1/discovery?topic=cal%2F1&dialect=cc70025', { token: apiKey });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { detail: string }).detail).toMatch(/subscribeUrl/);
    const relay = 'https://cal.example/push/subscribe?a=1&b=2';
    const res = await h.request(
      'GET',
      `/v1/discovery?topic=cal%2F1&dialect=cc70025&subscribeUrl=${encodeURIComponent(relay)}`,
      { token: apiKey },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      properties: Record<string, string>;
      propertiesByName: Record<string, string>;
      subscribeUrl: string;
    };
    expect(Object.keys(body.properties)).toEqual(['pushSubscribeUrl', 'supportedTransportSet', 'topic', 'pushVersion']);
    const read = (xml: string) => new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
    const href = read(body.properties.pushSubscribeUrl!);
    expect(`{${href.namespaceURI}}${href.localName}`).toBe(`{${CC}}push-subscribe-URL`);
    expect(href.getElementsByTagNameNS('DAV:', 'href')[0]!.textContent).toBe(relay);
    const set = read(body.properties.supportedTransportSet!);
    expect(Array.from(set.getElementsByTagNameNS(CC, 'transport-uri')).map((e) => e.textContent)).toEqual([
      webPushUri,
      fcmUri,
    ]);
    expect(Array.from(set.getElementsByTagNameNS(CC, 'refresh-interval')).map((e) => e.textContent)).toEqual([
      '172800',
      '172800',
    ]);
    expect(set.getElementsByTagNameNS('https://davpush.dev/ns', 'vapid-public-key')[0]!.textContent).toBe(
      transports[0]!.transport['transport-data']['vapid-public-key'],
    );
    expect(read(body.properties.topic!).textContent).toBe('cal/1');
    expect(read(body.properties.pushVersion!).textContent).toBe('1');
    // The example spellings a PROPFIND may ask for.
    expect(read(body.propertiesByName['subscribe-URL']!).localName).toBe('subscribe-URL');
    expect(read(body.propertiesByName.version!).localName).toBe('version');
    const own = await h.request(
      'GET',
      `/v1/discovery?topic=x&dialect=cc70025&subscribeUrl=${encodeURIComponent('https://cal.example/push/subscribe')}`,
      { token: apiKey },
    );
    expect(((await own.json()) as { subscribeUrl: string }).subscribeUrl).toBe('https://cal.example/push/subscribe');
    expect(
      (
        await h.request('GET', '/v1/discovery?topic=x&dialect=cc70025&subscribeUrl=javascript:alert(1)', {
          token: apiKey,
        })
      ).status,
    ).toBe(400);
    expect((await h.request('GET', '/v1/discovery?topic=x&dialect=apple', { token: apiKey })).status).toBe(400);
  });

  it('subscribes a Web Push and an FCM client for two topics, pushes, and both receive (§5.3, §5.4)', async () => {
    // The draft's example key `transport`, and client-data with the client's own id.
    const a = await gateway({
      'push-subscribe': {
        topics: ['123', 'abc'],
        transport: { 'transport-uri': webPushUri, 'client-data': webPushData(wp, 'wp-client') },
        expires: inSeconds(86400),
      },
    });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ 'push-url': `${h.baseUrl}/v1/gateway` });
    // The syntax's key `selected-transport`, a bare FCM token, and the client id from Push-Client-Id.
    const b = await gateway(
      {
        'push-subscribe': {
          topics: ['123', 'abc'],
          'selected-transport': { 'transport-uri': fcmUri, 'client-data': fcmToken },
          expires: inSeconds(3600),
        },
      },
      { 'push-client-id': 'fcm-client' },
    );
    expect(b.status).toBe(200);

    const res = await gateway({
      push: {
        messages: [
          { topic: '123', priority: 100, timestamp: '2017-10-01T14:00:52Z' },
          { topic: 'abc', priority: 0, timestamp: '2017-10-01T14:00:53Z' },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'push-response': {} });

    await eventually(
      async () => wpReceived(wp, '123').length === 1 && wpReceived(wp, 'abc').length === 1,
      15_000,
      'two Web Push messages',
    );
    const high = wpReceived(wp, '123')[0]!;
    const low = wpReceived(wp, 'abc')[0]!;
    expect(pushMessage(wp.decrypt(high.body))).toMatchObject({ root: `{${WP}}push-message`, topic: '123' });
    expect(high.headers.urgency).toBe('high');
    expect(low.headers.urgency).toBe('very-low');
    await eventually(async () => fcmSends('123').length === 1 && fcmSends('abc').length === 1, 15_000, 'two FCM sends');
    const message = (
      fcmSends('123')[0]!.body as { message: { android: { priority: string }; data: Record<string, string> } }
    ).message;
    expect(message.android.priority).toMatch(/high/i);
    expect(message.data.push_message).toContain('<topic>123</topic>');
    expect(
      (fcmSends('abc')[0]!.body as { message: { android: { priority: string } } }).message.android.priority,
    ).toMatch(/normal/i);
  });

  it('lists topics nobody is subscribed to, in the bare-array form too (§5.4, §6.1.3)', async () => {
    // A null optional member counts as absent.
    const res = await gateway({
      push: [
        { topic: 'nobody-here', priority: null, 'client-id': null },
        { topic: '123', timestamp: '2017-10-01T14:00:52Z' },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'nobody-here' }] } });
  });

  it('skips exactly the client named by client-id', async () => {
    const wpBefore = wpReceived(wp, 'abc').length;
    const fcmBefore = fcmSends('abc').length;
    expect((await gateway({ push: { messages: [{ topic: 'abc', 'client-id': 'wp-client' }] } })).status).toBe(200);
    await eventually(async () => fcmSends('abc').length === fcmBefore + 1, 15_000, 'the FCM client to hear of it');
    // The fan-out that queued the FCM send also judged the Web Push one: give a delivery time to show up.
    await new Promise((r) => setTimeout(r, 750));
    expect(wpReceived(wp, 'abc')).toHaveLength(wpBefore);
    // And the other way round, with the client id that came from the Push-Client-Id header.
    expect((await gateway({ push: [{ topic: 'abc', 'client-id': 'fcm-client' }] })).status).toBe(200);
    await eventually(
      async () => wpReceived(wp, 'abc').length === wpBefore + 1,
      15_000,
      'the Web Push client to hear of it',
    );
    await new Promise((r) => setTimeout(r, 750));
    expect(fcmSends('abc')).toHaveLength(fcmBefore + 1);
  });

  it('events through either API reach subscribers made through either (one model)', async () => {
    // A CC subscriber hears of a /v1/events event, sync-token and all.
    expect(
      (
        await h.request('POST', '/v1/events', {
          token: apiKey,
          body: { topic: '123', changes: ['content'], syncToken: 'http://cal.example/sync/7' },
        })
      ).status,
    ).toBe(202);
    await eventually(
      async () =>
        wpReceived(wp, '123').some((r) => pushMessage(wp.decrypt(r.body)).syncToken === 'http://cal.example/sync/7'),
      15_000,
      'the event',
    );
    // A WebDAV-Push registration hears of a CC push.
    const other = push.subscribe();
    const reg = await h.request('POST', '/v1/topics/123/registrations', {
      token: apiKey,
      body: {
        subscription: {
          type: 'web-push',
          pushResource: other.pushResource,
          publicKey: other.publicKey,
          authSecret: other.authSecret,
        },
      },
    });
    expect(reg.status).toBe(201);
    expect((await gateway({ push: [{ topic: '123' }] })).status).toBe(200);
    await eventually(
      async () => wpReceived(other, '123').length === 1,
      15_000,
      'the CC push at a WebDAV-Push registration',
    );
    // A WebDAV-Push registration made with Push-Client-Id is skipped by that client-id, like a CC one.
    const third = push.subscribe();
    const withId = await h.request('POST', '/v1/topics/123/registrations', {
      token: apiKey,
      headers: { 'push-client-id': 'dav-client' },
      body: {
        subscription: {
          type: 'web-push',
          pushResource: third.pushResource,
          publicKey: third.publicKey,
          authSecret: third.authSecret,
        },
      },
    });
    expect(withId.status).toBe(201);
    expect((await gateway({ push: [{ topic: '123', 'client-id': 'dav-client' }] })).status).toBe(200);
    await eventually(async () => wpReceived(other, '123').length === 2, 15_000, 'the other registration to hear of it');
    await new Promise((r) => setTimeout(r, 750));
    expect(wpReceived(third, '123')).toHaveLength(0);
  });

  it('refuses an expiry beyond the refresh-interval, drops a subscription not refreshed, and a past expiry unsubscribes', async () => {
    const c = push.subscribe();
    const sub = (topics: string[], expires: string) =>
      gateway({
        'push-subscribe': {
          topics,
          'selected-transport': { 'transport-uri': webPushUri, 'client-data': webPushData(c) },
          expires,
        },
      });
    const tooFar = await sub(['short'], inSeconds(172800 + 3600));
    expect(tooFar.status).toBe(400);
    expect(tooFar.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await tooFar.json()) as { detail: string }).detail).toMatch(/refresh-interval of 172800/);

    expect((await sub(['short'], inSeconds(2))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    const expired = await gateway({ push: [{ topic: 'short' }] });
    expect(await expired.json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'short' }] } });

    // Refreshed in time: still subscribed after the first expiry would have passed.
    expect((await sub(['short'], inSeconds(2))).status).toBe(200);
    expect((await sub(['short'], inSeconds(600))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await (await gateway({ push: [{ topic: 'short' }] })).json()).toEqual({ 'push-response': {} });
    await eventually(
      async () => wpReceived(c, 'short').length === 1,
      15_000,
      'the refreshed subscription to hear of it',
    );

    // Unsubscribe: an expiry in the past (§5.2.2) answers 200 and removes the client.
    const gone = await sub(['short'], '2017-10-07T12:00:00Z');
    expect(gone.status).toBe(200);
    expect(await (await gateway({ push: [{ topic: 'short' }] })).json()).toEqual({
      'push-response': { 'no-subscribers': [{ topic: 'short' }] },
    });
  }, 30_000);
});
