import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { CC, gatewayCall, inSeconds, receivedFor, webPushData } from './cc70025-support';
import { eventually, startHarness, type Harness } from './harness';

/**
 * What an application server written from draft-gajda-dav-push-00's text alone sends, and what it
 * must get back: vendor members ignored, one bad message never sinking the others, transport URIs
 * compared after normalisation, dates checked against the calendar, the client's subscribe errors
 * in the draft's namespace, content codings refused by name.
 */
describe('CC/CD 70025 gateway, liberal in what it accepts', () => {
  let push: FakePushService;
  let h: Harness;
  let apiKey: string;
  let webPushUri: string;

  const gateway = (body: unknown, headers: Record<string, string> = {}) => gatewayCall(h, apiKey, body, headers);
  const subscribe = (
    c: WebPushClient,
    topics: string[],
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
    uri = webPushUri,
  ) =>
    gateway(
      {
        'push-subscribe': {
          topics,
          'selected-transport': { 'transport-uri': uri, 'client-data': webPushData(c) },
          expires: inSeconds(600),
          ...extra,
        },
      },
      headers,
    );
  const detail = async (res: Response) => ((await res.json()) as { detail: string }).detail;

  beforeAll(async () => {
    push = await FakePushService.start();
    h = await startHarness();
    ({ apiKey } = await h.createTenant('cc-liberal'));
    webPushUri = `${h.baseUrl}/v1/gateway/transports/web-push`;
  });
  afterAll(async () => {
    await h?.close();
    await push?.stop();
  });

  it('ignores unknown members in every object, and delivers', async () => {
    const c = push.subscribe();
    const sub = await gateway({
      'x-vendor': { trace: 1 },
      'push-subscribe': {
        topics: ['p50'],
        'selected-transport': { 'transport-uri': webPushUri, 'client-data': webPushData(c), 'x-vendor': 'a' },
        expires: inSeconds(600),
        'x-vendor': true,
      },
    });
    expect(sub.status).toBe(200);
    const res = await gateway({ push: { messages: [{ topic: 'p50', foo: 1 }], 'x-batch': 7 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'push-response': {} });
    await eventually(async () => receivedFor(push, c, 'p50').length === 1, 15_000, 'the push despite vendor members');
  });

  it('delivers the other messages when one cannot be delivered as given', async () => {
    const z = push.subscribe();
    const ok = push.subscribe();
    expect((await subscribe(z, ['z'])).status).toBe(200);
    expect((await subscribe(ok, ['ok-topic'])).status).toBe(200);
    const longTopic = 't'.repeat(513);
    const res = await gateway({
      push: [
        // A client-id no subscription can carry names nobody: z's subscriber is notified.
        { topic: 'z', 'client-id': 'c'.repeat(257) },
        { topic: longTopic },
        { topic: 'ok-topic', priority: 101, timestamp: '2026-11-31T12:00:00Z' },
        { topic: '' },
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ 'push-response': { 'no-subscribers': [{ topic: longTopic }, { topic: '' }] } });
    await eventually(
      async () => receivedFor(push, z, 'z').length === 1 && receivedFor(push, ok, 'ok-topic').length === 1,
      15_000,
      'both deliverable messages',
    );
    // priority 101 is read as 100: high.
    expect(receivedFor(push, ok, 'ok-topic')[0]!.headers.urgency).toBe('high');
    // Not the protocol at all: still 400.
    for (const body of [
      '{"push":',
      { push: 'x' },
      { push: [{ topic: 1 }] },
      { push: Array.from({ length: 1001 }, () => ({ topic: 'z' })) },
      { 'x-only': 1 },
    ]) {
      const bad = await gateway(body);
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('compares transport-uri after normalisation; the short names still work', async () => {
    const upper = webPushUri.replace(/^http:\/\/127\.0\.0\.1/, 'HTTP://127.0.0.1');
    for (const uri of [`${webPushUri}/`, upper, `${upper}/`, webPushUri.replace('/v1/', '/v1/./'), 'web-push']) {
      const res = await subscribe(push.subscribe(), ['norm'], {}, {}, uri);
      expect({ uri, status: res.status }).toEqual({ uri, status: 200 });
    }
    const other = await subscribe(push.subscribe(), ['norm'], {}, {}, `${webPushUri}x`);
    expect(other.status).toBe(403);
  });

  it('checks dates against the calendar and reads the leap second and long fractions (RFC 3339)', async () => {
    const c = push.subscribe();
    for (const expires of ['2026-11-31T12:00:00Z', '2017-02-30T12:00:00Z', '2017-10-01T24:00:00Z']) {
      const res = await subscribe(c, ['dates'], { expires });
      expect({ expires, status: res.status }).toEqual({ expires, status: 400 });
      expect(await detail(res)).toMatch(/RFC 3339/);
    }
    // A leap second in the past: an unsubscribe, 200.
    expect((await subscribe(c, ['dates'], { expires: '2016-12-31T23:59:60Z' })).status).toBe(200);
    const future = inSeconds(600).replace('Z', '.123456789012Z');
    expect((await subscribe(c, ['dates'], { expires: future })).status).toBe(200);
  });

  it('lets X-Davpush-Readable-Topics restrict a JSON push-subscribe, as it does the XML subscribe', async () => {
    const c = push.subscribe();
    const refused = await subscribe(c, ['mine', 'theirs'], {}, { 'x-davpush-readable-topics': '"mine"' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: unknown }).error).toEqual({ 'invalid-topics': ['theirs'] });
    expect((await subscribe(c, ['mine'], {}, { 'x-davpush-readable-topics': '"mine", "other"' })).status).toBe(200);
  });

  it('refuses request content codings by name, on every endpoint (RFC 9110 §8.4)', async () => {
    for (const [url, coding] of [
      ['/v1/gateway', 'gzip'],
      ['/v1/gateway', 'br'],
      ['/v1/events', 'gzip'],
      ['/v1/gateway/subscribe', 'deflate'],
    ] as const) {
      const res = await h.request('POST', url, {
        token: apiKey,
        body: '{"push-transports":[]}',
        headers: { 'content-type': 'application/json', 'content-encoding': coding },
      });
      expect({ url, coding, status: res.status }).toEqual({ url, coding, status: 415 });
      expect(res.headers.get('accept-encoding')).toBe('identity');
      expect(await detail(res)).toContain(coding);
    }
    expect((await gateway({ 'push-transports': [] }, { 'content-encoding': 'identity' })).status).toBe(200);
  });

  it('answers the JSON-only root in problem+json even to an XML request', async () => {
    const res = await h.request('POST', '/v1/gateway', {
      token: apiKey,
      body: '<push-transports/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it("answers a client's refused subscribe with conditions in the CC namespace, never WebDAV-Push's", async () => {
    const c = push.subscribe();
    const xml = (uri: string, data: string) =>
      `<P:subscribe xmlns:P="${CC}"><P:topic>xml-t</P:topic><P:selected-transport><P:transport-uri>${uri}</P:transport-uri>` +
      `<P:client-data>${data.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</P:client-data></P:selected-transport><P:expires>${inSeconds(600)}</P:expires></P:subscribe>`;
    const post = (body: string) =>
      h.request('POST', '/v1/gateway/subscribe', {
        token: apiKey,
        body,
        headers: { 'content-type': 'application/xml', 'x-davpush-readable-topics': '"xml-t"' },
      });
    for (const [body, condition] of [
      [xml('https://push.example.com/transport', webPushData(c)), 'push-not-available'],
      [xml(webPushUri, 'not json'), 'invalid-subscription'],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text).not.toContain('bitfire.at');
      const root = new DOMParser().parseFromString(text, 'application/xml').documentElement!;
      expect(`{${root.namespaceURI}}${root.localName}`).toBe('{DAV:}error');
      expect(root.getElementsByTagNameNS(CC, condition)).toHaveLength(1);
    }
    expect((await post(xml(`${webPushUri}/`, webPushData(c)))).status).toBe(204);
  });
});
