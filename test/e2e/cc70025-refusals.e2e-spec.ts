import { DOMParser } from '@xmldom/xmldom';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { CC, gatewayCall, inSeconds, receivedFor, webPushData } from './cc70025-support';
import { eventually, startHarness, type Harness } from './harness';

/**
 * The CC/CD 70025 gateway (draft-gajda-dav-push-00) refusing what it must: hostile JSON bodies, a
 * client subscribe naming topics the user may not subscribe to, a subscription that fails half-way.
 * Every refusal is a 4xx naming the problem, and nothing is stored.
 */
describe('CC/CD 70025 gateway refusals', () => {
  let push: FakePushService;
  let h: Harness;
  let redis: Redis;
  let apiKey: string;
  let webPushUri: string;

  const gateway = (body: unknown, headers: Record<string, string> = {}, key = apiKey) =>
    gatewayCall(h, key, body, headers);
  const wpReceived = (c: WebPushClient, topic: string) => receivedFor(push, c, topic);
  /** Stored registrations: fields of their topics' hashes (libs/storage/src/keys.ts). */
  const registrationKeys = async () =>
    (await Promise.all((await redis.keys('{*}:r')).map((k) => redis.hlen(k)))).reduce((a, n) => a + n, 0);

  beforeAll(async () => {
    push = await FakePushService.start();
    h = await startHarness();
    redis = new Redis({ path: h.redis.socketPath });
    ({ apiKey } = await h.createTenant('cc-app-server'));
    webPushUri = `${h.baseUrl}/v1/gateway/transports/web-push`;
  });
  afterAll(async () => {
    redis?.disconnect();
    await h?.close();
    await push?.stop();
  });

  it('refuses hostile bodies with a 4xx naming the problem, and stores nothing', async () => {
    const before = await registrationKeys();
    const c = push.subscribe();
    const good = { 'transport-uri': webPushUri, 'client-data': webPushData(c) };
    const bodies: [string, unknown, number, RegExp][] = [
      ['not JSON', '{"push-subscribe":', 400, /malformed JSON/],
      ['two requests at once', { 'push-transports': [], push: [] }, 400, /exactly one of the members/],
      ['an unknown request', { 'push-unsubscribe': {} }, 400, /exactly one of the members/],
      ['an array body', [{ push: [] }], 400, /expected record|object/i],
      [
        'topics as a string',
        { 'push-subscribe': { topics: 'hostile', transport: good, expires: inSeconds(60) } },
        400,
        /push-subscribe\.topics/,
      ],
      [
        'a number topic',
        { 'push-subscribe': { topics: [1], transport: good, expires: inSeconds(60) } },
        400,
        /push-subscribe\.topics\.0/,
      ],
      ['no topics', { 'push-subscribe': { topics: [], transport: good, expires: inSeconds(60) } }, 400, /topics/],
      [
        'a huge topic array',
        {
          'push-subscribe': {
            topics: Array.from({ length: 5000 }, (_, i) => `t${i}`),
            transport: good,
            expires: inSeconds(60),
          },
        },
        400,
        /topics/,
      ],
      [
        'both transport spellings',
        { 'push-subscribe': { topics: ['h1'], transport: good, 'selected-transport': good, expires: inSeconds(60) } },
        400,
        /exactly one of/,
      ],
      [
        'client-data as an object',
        {
          'push-subscribe': {
            topics: ['h1'],
            transport: { ...good, 'client-data': c.subscription },
            expires: inSeconds(60),
          },
        },
        400,
        /client-data/,
      ],
      ['no expires', { 'push-subscribe': { topics: ['h1'], transport: good } }, 400, /expires/],
      [
        'a non-RFC 3339 expires',
        { 'push-subscribe': { topics: ['h1'], transport: good, expires: 'tomorrow' } },
        400,
        /RFC 3339/,
      ],
      [
        'another gateway',
        {
          'push-subscribe': {
            topics: ['h1'],
            transport: { ...good, 'transport-uri': 'https://push.example.com/transport' },
            expires: inSeconds(60),
          },
        },
        403,
        /not a transport of this gateway/,
      ],
      [
        'client-data that is not JSON',
        { 'push-subscribe': { topics: ['h1'], transport: { ...good, 'client-data': 'XYZ' }, expires: inSeconds(60) } },
        403,
        /client-data/,
      ],
      [
        'a short p256dh',
        {
          'push-subscribe': {
            topics: ['h1'],
            transport: {
              ...good,
              'client-data': JSON.stringify({ endpoint: c.pushResource, keys: { p256dh: 'AAAA', auth: c.authSecret } }),
            },
            expires: inSeconds(60),
          },
        },
        403,
        /65 bytes/,
      ],
      // Address rules (SSRF) are those of registrations; this harness allows private push services, test/security/ssrf.e2e-spec.ts does not.
      [
        'a relative endpoint',
        {
          'push-subscribe': {
            topics: ['h1'],
            transport: {
              ...good,
              'client-data': JSON.stringify({ endpoint: '/push/1', keys: { p256dh: c.publicKey, auth: c.authSecret } }),
            },
            expires: inSeconds(60),
          },
        },
        403,
        /absolute URL/,
      ],
      ['a string priority', { push: [{ topic: 'h1', priority: '100' }] }, 400, /push\.0\.priority/],
      ['a number client-id', { push: [{ topic: 'h1', 'client-id': 7 }] }, 400, /client-id/],
      ['an empty push', { push: [] }, 400, /push/],
      ['a huge push', { push: Array.from({ length: 1001 }, () => ({ topic: 'h1' })) }, 400, /push/],
      ['push-transports not a list', { 'push-transports': {} }, 400, /push-transports/],
    ];
    for (const [what, body, status, detail] of bodies) {
      const res = await gateway(body);
      const answer = {
        what,
        status: res.status,
        type: res.headers.get('content-type'),
        detail: ((await res.json()) as { detail: string }).detail,
      };
      expect(answer).toMatchObject({
        what,
        status,
        type: expect.stringMatching(/^application\/problem\+json/),
        detail: expect.stringMatching(detail),
      });
    }
    // A malformed topic fails the whole subscription and names it (all or nothing).
    const mixed = await gateway({
      'push-subscribe': { topics: ['h1', 'bad\u0001topic'], transport: good, expires: inSeconds(60) },
    });
    expect(mixed.status).toBe(403);
    const problem = (await mixed.json()) as { precondition: string; error: { 'invalid-topics': string[] } };
    expect(problem.precondition).toBe('invalid-topics');
    expect(problem.error['invalid-topics']).toEqual(['bad\u0001topic']);
    expect(await registrationKeys()).toBe(before);
    expect(await (await gateway({ push: [{ topic: 'h1' }] })).json()).toEqual({
      'push-response': { 'no-subscribers': [{ topic: 'h1' }] },
    });
    // Wrong media type and no key.
    expect(
      (
        await h.request('POST', '/v1/gateway', {
          token: apiKey,
          body: '{"push-transports":[]}',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
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
      h.request('POST', '/v1/gateway/subscribe', {
        token: key,
        body,
        headers: { 'content-type': 'application/xml; charset=UTF-8', ...headers },
      });

    const unknown = await post(xml(['123', 'abc']));
    expect(unknown.status).toBe(403);
    const error = new DOMParser().parseFromString(await unknown.text(), 'application/xml').documentElement!;
    expect(`{${error.namespaceURI}}${error.localName}`).toBe('{DAV:}error');
    const listed = Array.from(error.getElementsByTagNameNS(CC, 'invalid-topics')).flatMap((el) =>
      Array.from(el.getElementsByTagNameNS(CC, 'topic')).map((t) => t.textContent),
    );
    expect(listed).toEqual(['123', 'abc']);

    // Discovery shows "123"; "abc" is still unknown to this tenant: the request fails as a whole.
    const disc = await h.request(
      'GET',
      `/v1/discovery?topic=123&dialect=cc70025&subscribeUrl=${encodeURIComponent('https://cal.example/subscribe')}`,
      { token: key },
    );
    expect(disc.status).toBe(200);
    const partly = await post(xml(['123', 'abc']));
    expect(partly.status).toBe(403);
    expect(await partly.text()).toContain('<P:topic>abc</P:topic>');
    expect(await (await gateway({ push: [{ topic: '123' }] }, {}, key)).json()).toEqual({
      'push-response': { 'no-subscribers': [{ topic: '123' }] },
    });

    // A topic the tenant posted an event for is known too.
    expect(
      (await h.request('POST', '/v1/events', { token: key, body: { topic: 'evt-1', changes: ['content'] } })).status,
    ).toBe(202);
    const c2 = push.subscribe();
    const viaEvent = await h.request('POST', '/v1/gateway/subscribe', {
      token: key,
      body: xml(['123', 'evt-1']).replace(webPushData(c).replace(/&/g, '&amp;').replace(/</g, '&lt;'), webPushData(c2)),
      headers: { 'content-type': 'application/xml' },
    });
    expect(viaEvent.status).toBe(204);
    expect(await (await gateway({ push: [{ topic: 'evt-1' }] }, {}, key)).json()).toEqual({ 'push-response': {} });
    await eventually(
      async () => wpReceived(c2, 'evt-1').length === 1,
      15_000,
      'the subscriber of a topic known from an event',
    );

    // The calendar server may instead say which topics the user may read.
    const readable = await post(xml(['123', 'abc']), {
      'x-davpush-readable-topics': '"123", "abc"',
      'push-client-id': 'xml-client',
    });
    expect(readable.status).toBe(204);
    expect(new Date(readable.headers.get('expires')!).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(await (await gateway({ push: [{ topic: 'abc', 'client-id': 'someone-else' }] }, {}, key)).json()).toEqual({
      'push-response': {},
    });
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
    expect(
      (await post('<!DOCTYPE x [<!ENTITY a "b">]><P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push"/>')).status,
    ).toBe(400);
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
        body: {
          'push-subscribe': {
            topics,
            'selected-transport': { 'transport-uri': 'web-push', 'client-data': JSON.stringify(c.subscription) },
            expires: inSeconds(600),
          },
        },
      });
    expect((await subscribe(push.subscribe(), ['full'])).status).toBe(200);
    // "fresh" is registered first, then "full" is over its limit: the request fails as a whole.
    const refused = await subscribe(push.subscribe(), ['fresh', 'full']);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { type: string }).type).toMatch(/registration-limit$/);
    const res = await h.request('POST', '/v1/gateway', {
      token: apiKey,
      body: { push: [{ topic: 'fresh' }, { topic: 'full' }] },
    });
    expect(await res.json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: 'fresh' }] } });
  });
});
