import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePushService } from '../support/fake-push-service';
import { verifyVapid, type WebPushClient } from '../support/webpush-client';
import { davx5Register, specSampleRegister } from './push-documents';
import { eventually, startHarness, type Harness } from './harness';

const NS = 'https://bitfire.at/webdav-push';

function parseMessage(xml: string) {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const root = doc.documentElement!;
  const text = (ns: string, name: string) => root.getElementsByTagNameNS(ns, name)[0]?.textContent ?? undefined;
  return {
    root: `{${root.namespaceURI}}${root.localName}`,
    topic: text(NS, 'topic'),
    syncToken: text('DAV:', 'sync-token'),
    contentUpdate: root.getElementsByTagNameNS(NS, 'content-update').length,
    propertyUpdate: root.getElementsByTagNameNS(NS, 'property-update').length,
  };
}

describe('WebDAV-Push registration → event → encrypted, VAPID-signed Web Push', () => {
  let h: Harness;
  let push: FakePushService;
  let apiKey: string;
  let vapidPublicKey: string;

  beforeAll(async () => {
    h = await startHarness();
    push = await FakePushService.start();
    ({ apiKey } = await h.createTenant());
    const res = await h.request('GET', '/v1/discovery?topic=cal-1', { token: apiKey });
    if (res.status !== 200) throw new Error(`discovery answered ${res.status}`);
    vapidPublicKey = ((await res.json()) as { vapidPublicKey: string }).vapidPublicKey;
  });

  afterAll(async () => {
    await push?.stop();
    await h?.close();
  });

  async function register(topic: string, body: string, contentType = 'application/xml') {
    return h.request('POST', `/v1/topics/${encodeURIComponent(topic)}/registrations`, {
      token: apiKey,
      body,
      headers: { 'content-type': contentType },
    });
  }

  async function expectDelivered(client: WebPushClient, topic: string, syncToken: string) {
    const id = new URL(client.pushResource).pathname.split('/').pop()!;
    const record = await eventually(async () => push.received(id).at(-1), 10_000, `a push to ${id}`);
    // What a push service checks (RFC 8030 §5, RFC 8291, RFC 8292).
    expect(record.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(record.headers.ttl)).toBeGreaterThan(0);
    expect(Number(record.headers.ttl)).toBeLessThanOrEqual(43200);
    expect(record.headers.urgency).toBe('normal');
    expect(record.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(record.headers.topic).not.toContain(topic);
    const { claims } = verifyVapid(record.headers.authorization, {
      expectedPublicKey: vapidPublicKey,
      expectedAudience: push.origin,
    });
    expect(claims.sub).toBe('mailto:ops@davpush.test');
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(24 * 3600);
    const message = parseMessage(client.decrypt(record.body));
    expect(message).toMatchObject({ root: `{${NS}}push-message`, topic, syncToken, contentUpdate: 1 });
    return { record, message };
  }

  it('delivers to a registration made with the spec sample document', async () => {
    const client = push.subscribe();
    const expires = new Date(Date.now() + 3 * 86400_000).toUTCString();
    const res = await register('cal-1', specSampleRegister(client, expires));
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^${h.baseUrl}/v1/registrations/[A-Za-z0-9_-]{22,}$`));
    expect(res.headers.get('expires')).toBe(expires);

    const ev = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'cal-1', changes: ['content'], syncToken: 'http://cal.example/sync/1' },
    });
    expect(ev.status).toBe(202);
    const { message } = await expectDelivered(client, 'cal-1', 'http://cal.example/sync/1');
    expect(message.propertyUpdate).toBe(0);
  });

  it("delivers to DAVx5's form (no trigger, no content-encoding) and updates on re-registration", async () => {
    const client = push.subscribe();
    const expires = new Date(Date.now() + 3 * 86400_000).toUTCString();
    const first = await register('contacts-7', davx5Register(client, expires));
    expect(first.status).toBe(201);
    const again = await register(
      'contacts-7',
      davx5Register(client, new Date(Date.now() + 2 * 86400_000).toUTCString()),
    );
    expect(again.status).toBe(204);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));

    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { events: [{ topic: 'contacts-7', changes: ['content'], syncToken: 'tok-2' }] },
    });
    await expectDelivered(client, 'contacts-7', 'tok-2');
    expect(push.received(new URL(client.pushResource).pathname.split('/').pop()!)).toHaveLength(1);
  });

  it('removes the registration when the push service answers 410', async () => {
    const client = push.subscribe();
    const id = new URL(client.pushResource).pathname.split('/').pop()!;
    const res = await register(
      'cal-gone',
      specSampleRegister(client, new Date(Date.now() + 86400_000 * 3).toUTCString()),
    );
    const location = res.headers.get('location')!;
    push.gone(id);
    await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'cal-gone', changes: ['content'], syncToken: 's' },
    });
    await eventually(
      async () => (await h.request('GET', location, { token: apiKey })).status === 404,
      10_000,
      'the registration to be pruned',
    );
    const status = await h.request('POST', '/v1/events', {
      token: apiKey,
      body: { topic: 'cal-gone', changes: ['content'] },
    });
    expect(((await status.json()) as { noSubscribers: string[] }).noSubscribers).toEqual(['cal-gone']);
  });
});
