import { DOMParser } from '@xmldom/xmldom';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeFcm } from '../fcm/fake-fcm';
import { createTestServiceAccount, type TestServiceAccount } from '../fcm/test-service-account';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { eventually, startHarness, type Harness } from './harness';

const CC = 'urn:ietf:params:xml:ns:dav-push';
const WP = 'https://bitfire.at/webdav-push';

interface Transport {
  transport: { 'transport-uri': string; 'refresh-interval': number; 'transport-data': Record<string, string> };
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pushMessage(xml: string) {
  const root = new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
  return {
    root: `{${root.namespaceURI}}${root.localName}`,
    topic: root.getElementsByTagNameNS(WP, 'topic')[0]?.textContent,
    syncToken: root.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
  };
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
  let redis: Redis;
  let apiKey: string;
  let transports: Transport[];
  let webPushUri: string;
  let fcmUri: string;
  let wp: WebPushClient;
  const fcmToken = `cc-fcm-token-${'y'.repeat(120)}`;

  const gateway = (body: unknown, headers: Record<string, string> = {}, key = apiKey) =>
    h.request('POST', '/v1/gateway', { token: key, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
  const webPushData = (c: WebPushClient, clientId?: string) =>
    JSON.stringify({ ...c.subscription, expirationTime: null, ...(clientId ? { 'client-id': clientId } : {}) });
  const fcmSends = (topic: string) =>
    fcm.sends.filter((r) => {
      const m = (r.body as { message?: { token?: string; data?: { topic?: string } } }).message;
      return m?.token === fcmToken && m.data?.topic === topic;
    });
  const wpReceived = (c: WebPushClient, topic: string) => push.received(push.idOf(c)).filter((r) => pushMessage(c.decrypt(r.body)).topic === topic);
  const registrationKeys = async () => (await redis.keys('{davpush}:reg:*')).length;

  beforeAll(async () => {
    account = createTestServiceAccount('davpush-cc');
    fcm = await FakeFcm.start({ projectId: account.projectId, clientEmail: account.clientEmail, publicKey: account.publicKey });
    push = await FakePushService.start();
    h = await startHarness({ DAVPUSH_FCM_CREDENTIALS: account.file, DAVPUSH_FCM_ENDPOINT: fcm.url });
    redis = new Redis({ path: h.redis.socketPath });
    ({ apiKey } = await h.createTenant('cc-app-server'));
    wp = push.subscribe();
  });
  afterAll(async () => {
    redis?.disconnect();
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
    const discovery = (await (await h.request('GET', '/v1/discovery?topic=123', { token: apiKey })).json()) as { vapidPublicKey: string };
    expect(transports[0]).toEqual({
      transport: { 'transport-uri': `${h.baseUrl}/v1/gateway/transports/web-push`, 'refresh-interval': 172800, 'transport-data': { 'vapid-public-key': discovery.vapidPublicKey } },
    });
    expect(transports[1]).toEqual({
      transport: { 'transport-uri': `${h.baseUrl}/v1/gateway/transports/fcm`, 'refresh-interval': 172800, 'transport-data': { 'project-id': account.projectId } },
    });
  });

  it('answers discovery in the cc70025 dialect with the four properties, ready to embed (§5.2.3.1, §6.2.1)', async () => {
    const res = await h.request('GET', '/v1/discovery?topic=cal%2F1&dialect=cc70025', { token: apiKey });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { properties: Record<string, string>; propertiesByName: Record<string, string>; subscribeUrl: string };
    expect(Object.keys(body.properties)).toEqual(['pushSubscribeUrl', 'supportedTransportSet', 'topic', 'pushVersion']);
    const read = (xml: string) => new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
    const href = read(body.properties.pushSubscribeUrl!);
    expect(`{${href.namespaceURI}}${href.localName}`).toBe(`{${CC}}push-subscribe-URL`);
    expect(href.getElementsByTagNameNS('DAV:', 'href')[0]!.textContent).toBe(`${h.baseUrl}/v1/gateway/subscribe`);
    const set = read(body.properties.supportedTransportSet!);
    expect(Array.from(set.getElementsByTagNameNS(CC, 'transport-uri')).map((e) => e.textContent)).toEqual([webPushUri, fcmUri]);
    expect(Array.from(set.getElementsByTagNameNS(CC, 'refresh-interval')).map((e) => e.textContent)).toEqual(['172800', '172800']);
    expect(set.getElementsByTagNameNS('https://davpush.dev/ns', 'vapid-public-key')[0]!.textContent).toBe(transports[0]!.transport['transport-data']['vapid-public-key']);
    expect(read(body.properties.topic!).textContent).toBe('cal/1');
    expect(read(body.properties.pushVersion!).textContent).toBe('1');
    // The example spellings a PROPFIND may ask for.
    expect(read(body.propertiesByName['subscribe-URL']!).localName).toBe('subscribe-URL');
    expect(read(body.propertiesByName.version!).localName).toBe('version');
    const own = await h.request('GET', `/v1/discovery?topic=x&dialect=cc70025&subscribeUrl=${encodeURIComponent('https://cal.example/push/subscribe')}`, { token: apiKey });
    expect(((await own.json()) as { subscribeUrl: string }).subscribeUrl).toBe('https://cal.example/push/subscribe');
    expect((await h.request('GET', '/v1/discovery?topic=x&dialect=cc70025&subscribeUrl=javascript:alert(1)', { token: apiKey })).status).toBe(400);
    expect((await h.request('GET', '/v1/discovery?topic=x&dialect=apple', { token: apiKey })).status).toBe(400);
  });

  it('subscribes a Web Push and an FCM client for two topics, pushes, and both receive (§5.3, §5.4)', async () => {
    // The draft's example key `transport`, and client-data with the client's own id.
    const a = await gateway({ 'push-subscribe': { topics: ['123', 'abc'], transport: { 'transport-uri': webPushUri, 'client-data': webPushData(wp, 'wp-client') }, expires: inSeconds(86400) } });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ 'push-url': `${h.baseUrl}/v1/gateway` });
    // The syntax's key `selected-transport`, a bare FCM token, and the client id from Push-Client-Id.
    const b = await gateway(
      { 'push-subscribe': { topics: ['123', 'abc'], 'selected-transport': { 'transport-uri': fcmUri, 'client-data': fcmToken }, expires: inSeconds(3600) } },
      { 'push-client-id': 'fcm-client' },
    );
    expect(b.status).toBe(200);

    const res = await gateway({
      push: { messages: [{ topic: '123', priority: 100, timestamp: '2017-10-01T14:00:52Z' }, { topic: 'abc', priority: 0, timestamp: '2017-10-01T14:00:53Z' }] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'push-response': {} });

    await eventually(async () => wpReceived(wp, '123').length === 1 && wpReceived(wp, 'abc').length === 1, 15_000, 'two Web Push messages');
    const high = wpReceived(wp, '123')[0]!;
    const low = wpReceived(wp, 'abc')[0]!;
    expect(pushMessage(wp.decrypt(high.body))).toMatchObject({ root: `{${WP}}push-message`, topic: '123' });
    expect(high.headers.urgency).toBe('high');
    expect(low.headers.urgency).toBe('very-low');
    await eventually(async () => fcmSends('123').length === 1 && fcmSends('abc').length === 1, 15_000, 'two FCM sends');
    const message = (fcmSends('123')[0]!.body as { message: { android: { priority: string }; data: Record<string, string> } }).message;
    expect(message.android.priority).toMatch(/high/i);
    expect(message.data.push_message).toContain('<topic>123</topic>');
    expect((fcmSends('abc')[0]!.body as { message: { android: { priority: string } } }).message.android.priority).toMatch(/normal/i);
  });

  it('lists topics nobody is subscribed to, in the bare-array form too (§5.4, §6.1.3)', async () => {
    // A null optional member counts as absent.
    const res = await gateway({ push: [{ topic: 'nobody-here', priority: null, 'client-id': null }, { topic: '123', timestamp: '2017-10-01T14:00:52Z' }] });
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
    await eventually(async () => wpReceived(wp, 'abc').length === wpBefore + 1, 15_000, 'the Web Push client to hear of it');
    await new Promise((r) => setTimeout(r, 750));
    expect(fcmSends('abc')).toHaveLength(fcmBefore + 1);
  });

  it('events through either API reach subscribers made through either (one model)', async () => {
    // A CC subscriber hears of a /v1/events event, sync-token and all.
    expect((await h.request('POST', '/v1/events', { token: apiKey, body: { topic: '123', changes: ['content'], syncToken: 'http://cal.example/sync/7' } })).status).toBe(202);
    await eventually(async () => wpReceived(wp, '123').some((r) => pushMessage(wp.decrypt(r.body)).syncToken === 'http://cal.example/sync/7'), 15_000, 'the event');
    // A WebDAV-Push registration hears of a CC push.
    const other = push.subscribe();
    const reg = await h.request('POST', '/v1/topics/123/registrations', {
      token: apiKey,
      body: { subscription: { type: 'web-push', pushResource: other.pushResource, publicKey: other.publicKey, authSecret: other.authSecret } },
    });
    expect(reg.status).toBe(201);
    expect((await gateway({ push: [{ topic: '123' }] })).status).toBe(200);
    await eventually(async () => wpReceived(other, '123').length === 1, 15_000, 'the CC push at a WebDAV-Push registration');
  });

  it('refuses an expiry beyond the refresh-interval, drops a subscription not refreshed, and a past expiry unsubscribes', async () => {
    const c = push.subscribe();
    const sub = (topics: string[], expires: string) =>
      gateway({ 'push-subscribe': { topics, 'selected-transport': { 'transport-uri': webPushUri, 'client-data': webPushData(c) }, expires } });
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
    await eventually(async () => wpReceived(c, 'short').length === 1, 15_000, 'the refreshed subscription to hear of it');

    // Unsubscribe: an expiry in the past (§5.2.2) answers 200 and removes the client.
    const gone = await sub(['short'], '2017-10-07T12:00:00Z');
    expect(gone.status).toBe(200);
    expect(await (await gateway({ push: [{ topic: 'short' }] })).json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'short' }] } });
  }, 30_000);

  it('refuses hostile bodies with a 4xx naming the problem, and stores nothing', async () => {
    const before = await registrationKeys();
    const c = push.subscribe();
    const good = { 'transport-uri': webPushUri, 'client-data': webPushData(c) };
    const bodies: [string, unknown, number, RegExp][] = [
      ['not JSON', '{"push-subscribe":', 400, /malformed JSON/],
      ['two requests at once', { 'push-transports': [], push: [] }, 400, /exactly one member/],
      ['an unknown request', { 'push-unsubscribe': {} }, 400, /exactly one member/],
      ['an array body', [{ push: [] }], 400, /expected record|object/i],
      ['topics as a string', { 'push-subscribe': { topics: 'hostile', transport: good, expires: inSeconds(60) } }, 400, /push-subscribe\.topics/],
      ['a number topic', { 'push-subscribe': { topics: [1], transport: good, expires: inSeconds(60) } }, 400, /push-subscribe\.topics\.0/],
      ['no topics', { 'push-subscribe': { topics: [], transport: good, expires: inSeconds(60) } }, 400, /topics/],
      ['a huge topic array', { 'push-subscribe': { topics: Array.from({ length: 5000 }, (_, i) => `t${i}`), transport: good, expires: inSeconds(60) } }, 400, /topics/],
      ['an unknown key', { 'push-subscribe': { topics: ['h1'], transport: good, expires: inSeconds(60), admin: true } }, 400, /admin/],
      ['both transport spellings', { 'push-subscribe': { topics: ['h1'], transport: good, 'selected-transport': good, expires: inSeconds(60) } }, 400, /exactly one of/],
      ['client-data as an object', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': c.subscription }, expires: inSeconds(60) } }, 400, /client-data/],
      ['no expires', { 'push-subscribe': { topics: ['h1'], transport: good } }, 400, /expires/],
      ['a non-RFC 3339 expires', { 'push-subscribe': { topics: ['h1'], transport: good, expires: 'tomorrow' } }, 400, /RFC 3339/],
      ['another gateway', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'transport-uri': 'https://push.example.com/transport' }, expires: inSeconds(60) } }, 403, /not a transport of this gateway/],
      ['client-data that is not JSON', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': 'XYZ' }, expires: inSeconds(60) } }, 403, /client-data/],
      ['a short p256dh', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': JSON.stringify({ endpoint: c.pushResource, keys: { p256dh: 'AAAA', auth: c.authSecret } }) }, expires: inSeconds(60) } }, 403, /65 bytes/],
      // Address rules (SSRF) are those of registrations; this harness allows private push services, test/security/ssrf.e2e-spec.ts does not.
      ['a relative endpoint', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': JSON.stringify({ endpoint: '/push/1', keys: { p256dh: c.publicKey, auth: c.authSecret } }) }, expires: inSeconds(60) } }, 403, /absolute URL/],
      ['an unknown client-data key', { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': JSON.stringify({ ...c.subscription, extra: 1 }) }, expires: inSeconds(60) } }, 403, /unknown members/],
      ['a priority out of range', { push: [{ topic: 'h1', priority: 101 }] }, 400, /push\.0\.priority/],
      ['a fractional priority', { push: { messages: [{ topic: 'h1', priority: 50.5 }] } }, 400, /priority/],
      ['a string priority', { push: [{ topic: 'h1', priority: '100' }] }, 400, /priority/],
      ['an unknown message key', { push: [{ topic: 'h1', prio: 1 }] }, 400, /prio/],
      ['a bad timestamp', { push: [{ topic: 'h1', timestamp: 'yesterday' }] }, 400, /timestamp/],
      ['an empty push', { push: [] }, 400, /push/],
      ['a huge push', { push: Array.from({ length: 1001 }, () => ({ topic: 'h1' })) }, 400, /push/],
      ['push-transports not a list', { 'push-transports': {} }, 400, /push-transports/],
    ];
    for (const [what, body, status, detail] of bodies) {
      const res = await gateway(body);
      const answer = { what, status: res.status, type: res.headers.get('content-type'), detail: ((await res.json()) as { detail: string }).detail };
      expect(answer).toMatchObject({ what, status, type: expect.stringMatching(/^application\/problem\+json/), detail: expect.stringMatching(detail) });
    }
    // A malformed topic fails the whole subscription and names it (all or nothing).
    const mixed = await gateway({ 'push-subscribe': { topics: ['h1', 'bad\u0001topic'], transport: good, expires: inSeconds(60) } });
    expect(mixed.status).toBe(403);
    const problem = (await mixed.json()) as { precondition: string; error: { 'invalid-topics': string[] } };
    expect(problem.precondition).toBe('invalid-topics');
    expect(problem.error['invalid-topics']).toEqual(['bad\u0001topic']);
    expect(await registrationKeys()).toBe(before);
    expect(await (await gateway({ push: [{ topic: 'h1' }] })).json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'h1' }] } });
    // Wrong media type and no key.
    expect((await h.request('POST', '/v1/gateway', { token: apiKey, body: '{"push-transports":[]}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await h.request('POST', '/v1/gateway', { body: { 'push-transports': [] } })).status).toBe(401);
  }, 30_000);

  it('takes a client subscribe XML forwarded by the calendar server, all or nothing (§5.2.3.2)', async () => {
    const { apiKey: key } = await h.createTenant('cc-webdav-server');
    const c = push.subscribe();
    // The draft's example, repaired: topic elements closed as <P:topic>, the transport-uri and
    // client-data end tags in the P namespace (the draft closes them as D:), our transport-uri and
    // a real Web Push client-data instead of "XYZ", and an expiry inside the refresh-interval.
    const xml = (topics: string[]) => `<?xml version="1.0" encoding="UTF-8"?>
<P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push">
${topics.map((t) => `  <P:topic>${t}</P:topic>`).join('\n')}
  <P:selected-transport>
    <P:transport-uri>${webPushUri}</P:transport-uri>
    <P:client-data>${webPushData(c).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</P:client-data>
  </P:selected-transport>
  <P:expires>${inSeconds(3600)}</P:expires>
</P:subscribe>`;
    const post = (body: string, headers: Record<string, string> = {}) =>
      h.request('POST', '/v1/gateway/subscribe', { token: key, body, headers: { 'content-type': 'application/xml; charset=UTF-8', ...headers } });

    const unknown = await post(xml(['123', 'abc']));
    expect(unknown.status).toBe(403);
    const error = new DOMParser().parseFromString(await unknown.text(), 'application/xml').documentElement!;
    expect(`{${error.namespaceURI}}${error.localName}`).toBe('{DAV:}error');
    const listed = Array.from(error.getElementsByTagNameNS(CC, 'invalid-topics')).flatMap((el) => Array.from(el.getElementsByTagNameNS(CC, 'topic')).map((t) => t.textContent));
    expect(listed).toEqual(['123', 'abc']);

    // Discovery shows "123"; "abc" is still unknown to this tenant: the request fails as a whole.
    const disc = await h.request('GET', '/v1/discovery?topic=123&dialect=cc70025', { token: key });
    expect(disc.status).toBe(200);
    const partly = await post(xml(['123', 'abc']));
    expect(partly.status).toBe(403);
    expect(await partly.text()).toContain('<P:topic>abc</P:topic>');
    expect(await (await gateway({ push: [{ topic: '123' }] }, {}, key)).json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: '123' }] } });

    // A topic the tenant posted an event for is known too.
    expect((await h.request('POST', '/v1/events', { token: key, body: { topic: 'evt-1', changes: ['content'] } })).status).toBe(202);
    const c2 = push.subscribe();
    const viaEvent = await h.request('POST', '/v1/gateway/subscribe', {
      token: key,
      body: xml(['123', 'evt-1']).replace(webPushData(c).replace(/&/g, '&amp;').replace(/</g, '&lt;'), webPushData(c2)),
      headers: { 'content-type': 'application/xml' },
    });
    expect(viaEvent.status).toBe(204);
    expect(await (await gateway({ push: [{ topic: 'evt-1' }] }, {}, key)).json()).toEqual({ 'push-response': {} });
    await eventually(async () => wpReceived(c2, 'evt-1').length === 1, 15_000, 'the subscriber of a topic known from an event');

    // The calendar server may instead say which topics the user may read.
    const readable = await post(xml(['123', 'abc']), { 'x-davpush-readable-topics': '"123", "abc"', 'push-client-id': 'xml-client' });
    expect(readable.status).toBe(204);
    expect(new Date(readable.headers.get('expires')!).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(await (await gateway({ push: [{ topic: 'abc', 'client-id': 'someone-else' }] }, {}, key)).json()).toEqual({ 'push-response': {} });
    await eventually(async () => wpReceived(c, 'abc').length === 1, 15_000, 'the XML subscriber to hear of it');

    // The draft's example exactly as printed is not well-formed XML: 400, nothing stored.
    const asPrinted = `<P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push">
  <P:topic>123<P:topic>
  <P:topic>abc<P:topic>
  <P:selected-transport>
    <P:transport-uri>https://push.example.com/transport</D:transport-uri>
    <P:client-data>XYZ</D:client-data>
  </P:selected-transport>
  <P:expires>2017-10-07T12:00:00Z</P:expires>
</P:subscribe>`;
    const bad = await post(asPrinted);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('malformed XML');
    expect((await post('<!DOCTYPE x [<!ENTITY a "b">]><P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push"/>')).status).toBe(400);
  }, 30_000);
});

describe('CC/CD 70025 subscription, all or nothing', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;

  beforeAll(async () => {
    push = await FakePushService.start();
    h = await startHarness({ DAVPUSH_MAX_REGISTRATIONS_PER_TOPIC: '1' }, { api: true, worker: false });
    ({ apiKey } = await h.createTenant('cc-limits'));
  });
  afterAll(async () => {
    await h?.close();
    await push?.stop();
  });

  it('removes what a failing subscription had already registered', async () => {
    const subscribe = (c: WebPushClient, topics: string[]) =>
      h.request('POST', '/v1/gateway', {
        token: apiKey,
        body: { 'push-subscribe': { topics, 'selected-transport': { 'transport-uri': 'web-push', 'client-data': JSON.stringify(c.subscription) }, expires: inSeconds(600) } },
      });
    expect((await subscribe(push.subscribe(), ['full'])).status).toBe(200);
    // "fresh" is registered first, then "full" is over its limit: the request fails as a whole.
    const refused = await subscribe(push.subscribe(), ['fresh', 'full']);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { type: string }).type).toMatch(/registration-limit$/);
    const res = await h.request('POST', '/v1/gateway', { token: apiKey, body: { push: [{ topic: 'fresh' }, { topic: 'full' }] } });
    expect(await res.json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'fresh' }] } });
  });
});
