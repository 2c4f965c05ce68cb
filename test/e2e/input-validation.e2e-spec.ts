import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { eventually, startHarness, type Harness } from './harness';

/**
 * What a first-time user of the JSON API sees when a body is not what davpush expects: a 400 that
 * names the field and shows the expected shape, in the JSON field names the user wrote; and the
 * browser's own `PushSubscription.toJSON()` accepted as a registration.
 */
describe('input validation messages and the browser subscription shape', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let n = 0;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
  });
  afterAll(async () => {
    await h?.close();
    await push?.stop();
  });

  const post = (path: string, body: unknown, contentType = 'application/json') =>
    h.request('POST', path, {
      token: apiKey,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': contentType },
    });
  const problem = async (res: Response) => {
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    return (await res.json()) as { status: number; detail: string; precondition?: string };
  };
  const register = (body: unknown) => post(`/v1/topics/reg-${++n}/registrations`, body);

  describe('events', () => {
    it('an event without topic → 400 naming topic', async () => {
      const res = await post('/v1/events', { changes: ['content'], syncToken: 's' });
      expect(res.status).toBe(400);
      const { detail } = await problem(res);
      expect(detail).toMatch(/^topic: required/);
      expect(detail).toContain('expected {"topic"');
    });

    it('names the event of a batch that is wrong', async () => {
      const res = await post('/v1/events', {
        events: [{ topic: 'a', changes: ['content'] }, { changes: ['content'] }],
      });
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toMatch(/^events\[1\]\.topic: required/);
    });

    it('names the event of a batch whose sync-token cannot be carried', async () => {
      const res = await post('/v1/events', {
        events: [
          { topic: 'a', changes: ['content'] },
          { topic: 'b', changes: ['content'], syncToken: 'x\r\ny' },
        ],
      });
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toMatch(/^events\[1\]\.syncToken must not contain control characters/);
    });

    it.each([
      ['an array', [], 'the body is an array'],
      ['a string', '"cal-1"', 'the body is a string'],
      ['null', 'null', 'the body is null'],
      ['events that is not an array', { events: { topic: 'a' } }, 'events must be an array'],
      ['an empty events list', { events: [] }, 'events must hold 1 to 1000'],
      ['a misspelt change kind', { topic: 'a', changes: ['contents'] }, 'changes.0'],
      ['changes missing', { topic: 'a' }, 'changes: required'],
      ['a ttl as a string', { topic: 'a', changes: ['content'], ttl: '60' }, 'ttl'],
    ])('%s → 400 that shows the expected shape', async (_name, body, says) => {
      const res = await post('/v1/events', body);
      expect(res.status).toBe(400);
      const { detail } = await problem(res);
      expect(detail).toContain(says);
      expect(detail).toContain('expected {"topic"');
    });
  });

  describe('misspelt or mixed event fields are refused, not dropped', () => {
    it.each([
      [
        'a misspelt sync_token',
        { topic: 'a', changes: ['content'], sync_token: 's-1' },
        'the event has unknown field "sync_token"',
      ],
      [
        'a misspelt urgency',
        { topic: 'a', changes: ['content'], urgancy: 'high' },
        'the event has unknown field "urgancy"',
      ],
      [
        'two unknown fields',
        { topic: 'a', changes: ['content'], sync_token: 's', ttl_seconds: 5 },
        'the event has unknown fields "sync_token", "ttl_seconds"',
      ],
      [
        'an unknown field in a batch',
        {
          events: [
            { topic: 'a', changes: ['content'] },
            { topic: 'b', changes: ['content'], urgancy: 'low' },
          ],
        },
        'events[1] has unknown field "urgancy"',
      ],
      [
        'topic beside events',
        { topic: 'a', changes: ['content'], events: [{ topic: 'b', changes: ['content'] }] },
        'a body holds one event or "events", not both: "topic", "changes" beside "events"',
      ],
      [
        'dontNotify of 1001 lines',
        {
          topic: 'a',
          changes: ['content'],
          dontNotify: Array.from({ length: 1001 }, (_, i) => `"https://d.example/${i}"`),
        },
        'dontNotify: must be one string of at most 262144 characters, or an array of at most 1000 header lines',
      ],
    ])('%s → 400 naming it, with the expected shape', async (_name, body, says) => {
      const res = await post('/v1/events', body);
      expect(res.status).toBe(400);
      const { detail } = await problem(res);
      expect(detail).toContain(says);
      expect(detail).toContain('expected {"topic"');
    });
  });

  describe('lengths count characters (code points), in any script', () => {
    const emoji = (count: number) => '😀'.repeat(count);
    it('257 emoji of topic and 600 of sync-token are accepted and delivered; discovery takes the topic too', async () => {
      const c = push.subscribe();
      const topic = emoji(257);
      expect(
        (
          await post(`/v1/topics/${encodeURIComponent(topic)}/registrations`, {
            subscription: {
              type: 'web-push',
              pushResource: c.pushResource,
              publicKey: c.publicKey,
              authSecret: c.authSecret,
            },
          })
        ).status,
      ).toBe(201);
      expect(
        (await h.request('GET', `/v1/discovery?topic=${encodeURIComponent(topic)}`, { token: apiKey })).status,
      ).toBe(200);
      const res = await post('/v1/events', { topic, changes: ['content'], syncToken: emoji(600) });
      expect(res.status).toBe(202);
      const record = await eventually(async () => push.received(push.idOf(c))[0], 10_000, 'the push');
      expect(c.decrypt(record.body)).toContain(`<topic>${topic}</topic>`);
    });

    it('a topic over 1536 bytes of UTF-8 (385 emoji) → 400 saying so, in events and discovery', async () => {
      const says = 'topic must be 1 to 512 characters and at most 1536 bytes of UTF-8';
      expect((await problem(await post('/v1/events', { topic: emoji(385), changes: ['content'] }))).detail).toContain(
        says,
      );
      const d = await h.request('GET', `/v1/discovery?topic=${encodeURIComponent(emoji(385))}`, { token: apiKey });
      expect(d.status).toBe(400);
      expect((await problem(d)).detail).toContain(says);
    });
  });

  describe('registrations in JSON', () => {
    it("accepts the browser's PushSubscription.toJSON() as it is, and delivers to it", async () => {
      const c = push.subscribe();
      const t = `browser-${++n}`;
      const expirationTime = Date.now() + 4 * 86_400_000;
      const res = await post(`/v1/topics/${t}/registrations`, {
        endpoint: c.pushResource,
        expirationTime,
        keys: { p256dh: c.publicKey, auth: c.authSecret },
      });
      expect(res.status).toBe(201);
      // The push subscription's own end bounds the registration (second precision, as Expires says).
      expect(Date.parse(res.headers.get('expires')!)).toBe(Math.floor(expirationTime / 1000) * 1000);
      await post('/v1/events', { topic: t, changes: ['content'], syncToken: 'b-1' });
      const record = await eventually(async () => push.received(push.idOf(c))[0], 10_000, 'the push');
      expect(c.decrypt(record.body)).toContain('<D:sync-token>b-1</D:sync-token>');
    });

    it('accepts it wrapped as "subscription", beside trigger and expires', async () => {
      const c = push.subscribe();
      const expires = new Date(Date.now() + 3 * 86_400_000).toUTCString();
      const res = await register({
        subscription: {
          endpoint: c.pushResource,
          expirationTime: null,
          keys: { p256dh: c.publicKey, auth: c.authSecret },
        },
        trigger: { propertyUpdate: { depth: '0', props: ['{DAV:}displayname'] } },
        expires,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('expires')).toBe(expires);
      const got = (await (await h.request('GET', res.headers.get('location')!, { token: apiKey })).json()) as {
        trigger: unknown;
      };
      expect(got.trigger).toEqual({ propertyUpdate: { depth: '0', props: ['{DAV:}displayname'] } });
    });

    it('accepts the browser subscription labelled "type": "web-push"', async () => {
      const c = push.subscribe();
      expect(
        (
          await register({
            subscription: {
              type: 'web-push',
              endpoint: c.pushResource,
              keys: { p256dh: c.publicKey, auth: c.authSecret },
            },
          })
        ).status,
      ).toBe(201);
    });

    it('still accepts the davpush form, and XML', async () => {
      const c = push.subscribe();
      expect(
        (
          await register({
            subscription: {
              type: 'web-push',
              pushResource: c.pushResource,
              publicKey: c.publicKey,
              authSecret: c.authSecret,
            },
          })
        ).status,
      ).toBe(201);
      const xml = `<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription><push-resource>${push.subscribe().pushResource}</push-resource><subscription-public-key type="p256dh">${c.publicKey}</subscription-public-key><auth-secret>${c.authSecret}</auth-secret></web-push-subscription></subscription></push-register>`;
      expect((await post(`/v1/topics/x-${++n}/registrations`, xml, 'application/xml')).status).toBe(201);
    });

    it.each([
      ['an empty object', {}, '"subscription" (or a browser subscription\'s "endpoint" and "keys") is missing'],
      ['an array', [], 'the body is an array'],
      ['subscription as a string', { subscription: 'https://push.example/x' }, 'subscription must be an object'],
      [
        'a subscription with neither type nor endpoint',
        { subscription: { pushResource: 'https://push.example/x' } },
        'neither "type" nor "endpoint"',
      ],
      [
        'both forms at once',
        { subscription: { type: 'fcm', token: 't' }, endpoint: 'https://push.example/x' },
        'not both',
      ],
      ['a numeric endpoint', { endpoint: 42, keys: { p256dh: 'a', auth: 'b' } }, 'endpoint:'],
      ['keys as a string', { subscription: { endpoint: 'https://push.example/x', keys: 'k' } }, 'subscription.keys:'],
      [
        'a wrong type of pushResource',
        { subscription: { type: 'web-push', pushResource: 42 } },
        'subscription.pushResource:',
      ],
      [
        'expirationTime as a date string',
        { endpoint: 'https://push.example/x', expirationTime: 'tomorrow', keys: {} },
        'expirationTime:',
      ],
    ])('%s → 400 that shows the expected shapes', async (_name, body, says) => {
      const res = await register(body);
      expect(res.status).toBe(400);
      const { detail } = await problem(res);
      expect(detail).toContain(says);
      expect(detail).toContain('"pushResource"');
      expect(detail).toContain('PushSubscription.toJSON() {"endpoint"');
    });

    it.each([
      [
        'davpush form: bad push resource',
        (c: { pushResource: string; publicKey: string; authSecret: string }) => ({
          subscription: {
            type: 'web-push',
            pushResource: 'ftp://x/y',
            publicKey: c.publicKey,
            authSecret: c.authSecret,
          },
        }),
        'subscription.pushResource must be an https URL',
        'push-resource',
      ],
      [
        'davpush form: short key',
        (c: { pushResource: string; publicKey: string; authSecret: string }) => ({
          subscription: { type: 'web-push', pushResource: c.pushResource, publicKey: 'abc', authSecret: c.authSecret },
        }),
        'subscription.publicKey must be',
        'subscription-public-key',
      ],
      [
        'davpush form: no auth secret',
        (c: { pushResource: string; publicKey: string }) => ({
          subscription: { type: 'web-push', pushResource: c.pushResource, publicKey: c.publicKey },
        }),
        'subscription.authSecret is missing',
        'auth-secret',
      ],
      [
        'browser form: short p256dh',
        (c: { pushResource: string; authSecret: string }) => ({
          endpoint: c.pushResource,
          keys: { p256dh: 'abc', auth: c.authSecret },
        }),
        'keys.p256dh must be',
        'subscription-public-key',
      ],
      [
        'wrapped browser form: no auth',
        (c: { pushResource: string; publicKey: string }) => ({
          subscription: { endpoint: c.pushResource, keys: { p256dh: c.publicKey } },
        }),
        'subscription.keys.auth is missing',
        'auth-secret',
      ],
      [
        'unknown transport',
        () => ({ subscription: { type: 'apns', token: 'x' } }),
        'subscription.type is missing or names no supported transport',
        'push-resource',
      ],
    ])('%s → 403 in the JSON field names', async (_name, body, says, xmlName) => {
      const res = await register(body(push.subscribe()));
      expect(res.status).toBe(403);
      const p = await problem(res);
      expect(p.precondition).toBe('invalid-subscription');
      expect(p.detail).toContain(says);
      expect(p.detail).not.toContain(xmlName);
    });

    it('OpenAPI describes the browser shape and shows every accepted JSON form', async () => {
      const doc = (await (await h.request('GET', '/docs/openapi.json')).json()) as {
        paths: Record<
          string,
          { post: { requestBody: { content: Record<string, { examples: Record<string, unknown> }> } } }
        >;
        components: { schemas: { RegistrationJson: unknown } };
      };
      const schema = JSON.stringify(doc.components.schemas.RegistrationJson);
      for (const field of ['"endpoint"', '"expirationTime"', '"p256dh"', '"auth"', '"pushResource"', '"token"'])
        expect(schema).toContain(field);
      const examples =
        doc.paths['/v1/topics/{topic}/registrations']!.post.requestBody.content['application/json']!.examples;
      expect(Object.keys(examples)).toEqual(['davpush', 'fcm', 'browser', 'browserWrapped']);
    });

    it('a bad trigger depth is named by its JSON path', async () => {
      const c = push.subscribe();
      const res = await register({
        endpoint: c.pushResource,
        keys: { p256dh: c.publicKey, auth: c.authSecret },
        trigger: { contentUpdate: { depth: 'deep' } },
      });
      expect(res.status).toBe(400);
      expect((await problem(res)).detail).toMatch(/^trigger\.contentUpdate\.depth must be 0, 1 or infinity/);
    });

    it('XML errors keep the element names', async () => {
      const xml = `<push-register xmlns="https://bitfire.at/webdav-push"><subscription><web-push-subscription><push-resource>ftp://x/y</push-resource></web-push-subscription></subscription></push-register>`;
      const res = await post(`/v1/topics/x-${++n}/registrations`, xml, 'application/xml');
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('push-resource must be an https URL');
    });
  });
});
