import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobPublisher } from '@davpush/queue';
import { EventStore } from '@davpush/storage';
import type { PushMessage } from '@davpush/domain';
import { VapidRotationService } from '@davpush/application';
import { WebPushGateway } from '@davpush/gateways';
import { buildPushMessage } from '@davpush/webdav-push';
import type { PushRecord } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import { BOTH, FieldCaseWorld, fill, recordsOf, std, webPushXml } from './field-cases.support';

/**
 * Four faults seen with real clients and servers (C1–C4, each named by its `describe`), end to end: the real app on its
 * own Redis, a local HTTPS push service that records and decrypts what it gets, a local FCM. Each
 * `describe` asserts the case's right value first, then other members of the same kind of fault.
 */
describe('field cases', () => {
  let w: FieldCaseWorld;
  beforeAll(async () => {
    w = await FieldCaseWorld.start();
  });
  afterAll(async () => w?.close());

  describe('C1 — every outbound push fits one record / FCM data message', () => {
    const topic = fill('日本語のカレンダーと連絡先', 512);
    const syncToken = `https://cal.example/同期/${fill('トークン', 1000)}`;

    it('right value: a 512-character Japanese topic and a ~3 KB sync-token → one body ≤ 4096 bytes, one record, topic intact', async () => {
      expect(Buffer.byteLength(topic)).toBeGreaterThan(1500);
      expect(Buffer.byteLength(syncToken)).toBeGreaterThan(3000);
      const c = w.push.subscribe();
      expect((await w.registerWebPush(topic, c, BOTH)).res.status).toBe(201);
      const id = await w.sendEvent({ topic, changes: ['content', 'property'], syncToken });
      expect(await w.finished(id)).toMatchObject({ accepted: 1, failed: 0 });
      const [record] = w.pushesTo(c);
      expect(record!.status).toBe(201);
      expect(record!.body.length).toBeLessThanOrEqual(4096);
      expect(recordsOf(record!.body)).toBe(1);
      const xml = c.decrypt(record!.body);
      expect(xml).toContain(`<topic>${topic}</topic>`);
      expect(xml).toContain('<content-update/>');
      expect(xml).toContain('<property-update/>');
      expect(xml).not.toContain('sync-token');
    });

    it('text that XML escaping makes longer (& and <) still fits, and a sync-token that fits is kept', async () => {
      const escTopic = fill('&<', 512);
      const c = w.push.subscribe();
      await w.registerWebPush(escTopic, c);
      await w.finished(await w.sendEvent({ topic: escTopic, changes: ['content'], syncToken: fill('&', 1024) }));
      await w.finished(
        await w.sendEvent({ topic: escTopic, changes: ['content'], syncToken: 'http://cal.example/sync/&small' }),
      );
      const [big, small] = w.pushesTo(c);
      expect(big!.body.length).toBeLessThanOrEqual(4096);
      expect(recordsOf(big!.body)).toBe(1);
      expect(c.decrypt(big!.body)).not.toContain('sync-token');
      expect(c.decrypt(small!.body)).toContain('<D:sync-token>http://cal.example/sync/&amp;small</D:sync-token>');
    });

    it('the Web Push gateway itself never sends more: an oversized message from any caller is shrunk, or refused unsent', async () => {
      const gateway = w.h.app.get(WebPushGateway);
      const c = w.push.subscribe();
      const delivery = (message: PushMessage) => ({
        registration: {
          id: 'r',
          tenantId: w.tenantId,
          topic: message.topic ?? '',
          subscription: {
            type: 'web-push' as const,
            pushResource: c.pushResource,
            publicKey: c.publicKey,
            authSecret: c.authSecret,
            contentEncoding: 'aes128gcm' as const,
          },
          trigger: { contentUpdate: { depth: '1' as const } },
          expiresAt: Date.now() + 60_000,
          createdAt: 0,
          updatedAt: 0,
          consecutiveFailures: 0,
        },
        message,
        payload: buildPushMessage(message),
        ttlSeconds: 60,
        urgency: 'normal' as const,
        collapseKey: 'k',
      });
      expect(await gateway.send(delivery({ topic: 'big', contentUpdate: { syncToken: fill('&', 1024) } }))).toEqual({
        kind: 'accepted',
      });
      expect(await gateway.send(delivery({ topic: fill('&', 4000), contentUpdate: {} }))).toMatchObject({
        kind: 'rejected',
        reason: expect.stringMatching(/3993/),
      });
      const records = w.pushesTo(c);
      expect(records).toHaveLength(1);
      expect(records[0]!.body.length).toBeLessThanOrEqual(4096);
      expect(c.decrypt(records[0]!.body)).toBe(buildPushMessage({ topic: 'big', contentUpdate: {} }));
    });

    it('FCM: the same event becomes a data message FCM accepts (≤ 4096 bytes), without the sync-token', async () => {
      const token = `fcm-c1-${'x'.repeat(140)}`;
      const t = w.topicName(fill('日本語', 500));
      expect((await w.registerJson(t, { subscription: { type: 'fcm', token } })).res.status).toBe(201);
      expect(await w.finished(await w.sendEvent({ topic: t, changes: ['content'], syncToken }))).toMatchObject({
        accepted: 1,
      });
      const [send] = w.fcmSendsTo(token);
      expect(send.status).toBe(200);
      const data = (send.body as { message: { data: Record<string, string> } }).message.data;
      expect(
        Object.entries(data).reduce((s, [k, v]) => s + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
      ).toBeLessThanOrEqual(4096);
      expect(data.topic).toBe(t);
      expect(data.sync_token).toBeUndefined();
      expect(data.push_message).not.toContain('sync-token');
    });
  });

  describe('C2 — Push-Dont-Notify values as the header carries them', () => {
    it('right value: ["\\"<A>\\""] (quoted, as DAVx5 sends it) → A hears nothing; accepted 1, skipped 1', async () => {
      const { t, a, b, A } = await w.twoOnATopic();
      const id = await w.sendEvent({ topic: t, changes: ['content'], dontNotify: [`"${A}"`] });
      expect(await w.finished(id)).toMatchObject({ accepted: 1, skipped: 1, failed: 0 });
      expect(w.pushesTo(a)).toHaveLength(0);
      expect(w.pushesTo(b)).toHaveLength(1);
    });

    it.each<[string, (A: string, B: string) => unknown]>([
      ['with spaces around it', (A) => [`   "${A}"\t `]],
      ['unquoted', (A) => [A]],
      ['a list in one header line', (A) => [`"https://elsewhere.example/x", "${A}"`]],
      ['several header lines', (A) => ['"https://elsewhere.example/x"', ` "${A}" `]],
      ['one string holding the whole value', (A) => `"${A}" , "https://elsewhere.example/x"`],
      ['a quoted-pair inside the quotes', (A) => [`"${A.replace('registrations', 'registr\\ations')}"`]],
      ['repeated', (A) => [`"${A}", "${A}"`, A]],
      ['beside a `*` (an invalid element in a list, ignored: it does not silence B)', (A) => [`"${A}", *`]],
      ['after a `*`', (A) => `*, "${A}"`],
      ['after a CRLF inside the value (obs-fold)', (A) => `"https://elsewhere.example/x",\r\n "${A}"`],
    ])('%s → A skipped', async (_name, value) => {
      const { t, a, b, A, B } = await w.twoOnATopic();
      expect(
        await w.finished(await w.sendEvent({ topic: t, changes: ['content'], dontNotify: value(A, B) })),
      ).toMatchObject({ accepted: 1, skipped: 1 });
      expect([w.pushesTo(a).length, w.pushesTo(b).length]).toEqual([0, 1]);
    });

    it('"*" (bare) skips everybody; a quoted "*" is not a registration URL and is ignored', async () => {
      const one = await w.twoOnATopic();
      expect(
        await w.finished(await w.sendEvent({ topic: one.t, changes: ['content'], dontNotify: ['*'] })),
      ).toMatchObject({ accepted: 0, skipped: 2 });
      const two = await w.twoOnATopic();
      expect(
        await w.finished(await w.sendEvent({ topic: two.t, changes: ['content'], dontNotify: ['"*"'] })),
      ).toMatchObject({ accepted: 2, skipped: 0 });
    });

    it.each<[string, (A: string) => unknown]>([
      ['an unterminated quote', (A) => [`"${A}`]],
      ['a URL that differs in case', (A) => [`"${A.toUpperCase()}"`]],
      ['a trailing slash', (A) => [`"${A}/"`]],
      ['a URL with a query', (A) => [`"${A}?x=1"`]],
      ['the id alone', (A) => [A.split('/').pop()]],
      ['non-strings', () => [42, null, { url: 'x' }]],
      ['an empty value', () => ['', ' , ,']],
    ])('ignores %s (not a registration URL): everybody is notified', async (_name, value) => {
      const { t, a, b, A } = await w.twoOnATopic();
      expect(
        await w.finished(await w.sendEvent({ topic: t, changes: ['content'], dontNotify: value(A) })),
      ).toMatchObject({ accepted: 2, skipped: 0 });
      expect([w.pushesTo(a).length, w.pushesTo(b).length]).toEqual([1, 1]);
    });

    it("another tenant's registration URL is ignored", async () => {
      const other = await w.h.createTenant('other.example');
      const c = w.push.subscribe();
      const res = await w.h.request('POST', '/v1/topics/dn-other/registrations', {
        token: other.apiKey,
        body: {
          subscription: {
            type: 'web-push',
            pushResource: c.pushResource,
            publicKey: c.publicKey,
            authSecret: c.authSecret,
          },
        },
      });
      const { t, a, b } = await w.twoOnATopic();
      expect(
        await w.finished(
          await w.sendEvent({ topic: t, changes: ['content'], dontNotify: [`"${res.headers.get('location')}"`] }),
        ),
      ).toMatchObject({ accepted: 2, skipped: 0 });
      expect([w.pushesTo(a).length, w.pushesTo(b).length, w.pushesTo(c).length]).toEqual([1, 1, 0]);
    });
  });

  describe('C3 — every accepted edge value is delivered or accounted for, never silently dropped', () => {
    it('right value: ttl 0 → exactly one POST with TTL: 0, accepted 1, no dead letter', async () => {
      const t = w.topicName('t0');
      const c = w.push.subscribe();
      const r = await w.registerWebPush(t, c);
      const id = await w.sendEvent({ topic: t, changes: ['content'], ttl: 0 });
      expect(await w.finished(id)).toMatchObject({ accepted: 1, failed: 0 });
      const records = w.pushesTo(c);
      expect(records).toHaveLength(1);
      expect(records[0]!.headers.ttl).toBe('0');
      expect(c.decrypt(records[0]!.body)).toContain(`<topic>${t}</topic>`);
      expect((await w.deadLetters()).filter((d) => d.registrationId === r.id)).toEqual([]);
    });

    it.each([
      // The remaining time rounded up to whole seconds: a push with time left never says TTL: 0.
      ['ttl 1 (shorter than the coalescing window: not held back)', 1, 1, 1],
      ['ttl 2 (the coalescing window eats into it)', 2, 1, 2],
      ['the largest ttl (28 days)', 2_419_200, 2_419_195, 2_419_200],
    ])('%s → one POST with the remaining TTL, rounded up', async (_name, ttl, min, max) => {
      const t = w.topicName('ttl');
      const c = w.push.subscribe();
      await w.registerWebPush(t, c);
      expect(
        await w.finished(await w.sendEvent({ topic: t, changes: ['content'], ttl, urgency: 'very-low' })),
      ).toMatchObject({ accepted: 1, failed: 0 });
      const [record] = w.pushesTo(c);
      expect(Number(record!.headers.ttl)).toBeGreaterThanOrEqual(min);
      expect(Number(record!.headers.ttl)).toBeLessThanOrEqual(max);
      expect(record!.headers.urgency).toBe('very-low');
    });

    it('FCM gets ttl 0 too (android.ttl "0s"), accepted', async () => {
      const token = `fcm-ttl0-${'y'.repeat(140)}`;
      const t = w.topicName('t0-fcm');
      await w.registerJson(t, { subscription: { type: 'fcm', token } });
      expect(await w.finished(await w.sendEvent({ topic: t, changes: ['content'], ttl: 0 }))).toMatchObject({
        accepted: 1,
      });
      const [send] = w.fcmSendsTo(token);
      expect((send.body as { message: { android: { ttl: string } } }).message.android.ttl).toMatch(/^0(\.0+)?s$/);
    });

    it('a ttl 0 push the push service refuses for now (503) is not retried past its deadline: one POST, one dead letter saying why', async () => {
      const t = w.topicName('t0-503');
      const c = w.push.subscribe();
      const r = await w.registerWebPush(t, c);
      w.push.script(w.push.idOf(c), [{ status: 503 }, { status: 503 }]);
      expect(await w.finished(await w.sendEvent({ topic: t, changes: ['content'], ttl: 0 }))).toMatchObject({
        accepted: 0,
        failed: 1,
      });
      expect(w.pushesTo(c)).toHaveLength(1);
      const [dead] = (await w.deadLetters()).filter((d) => d.registrationId === r.id);
      expect(dead!.reason).toMatch(/TTL/);
    });

    it('a ttl 0 push that our own per-origin cap turns away still gets its one attempt', async () => {
      const busy = await FieldCaseWorld.start({ DAVPUSH_ORIGIN_CONCURRENCY: '1' });
      try {
        const t = busy.topicName('t0-busy');
        const clients = [busy.push.subscribe(), busy.push.subscribe(), busy.push.subscribe()];
        for (const c of clients) expect((await busy.registerWebPush(t, c)).res.status).toBe(201);
        // One request at a time, each taking longer than a turned-away push waits for a slot (1 s).
        busy.push.setLatency(1200);
        expect(await busy.finished(await busy.sendEvent({ topic: t, changes: ['content'], ttl: 0 }))).toMatchObject({
          accepted: 3,
          failed: 0,
        });
        expect(clients.map((c) => busy.pushesTo(c).map((r) => r.headers.ttl))).toEqual([['0'], ['0'], ['0']]);
        expect(await busy.deadLetters()).toEqual([]);
      } finally {
        await busy.close();
      }
    }, 30_000);

    it('the smallest and largest values of every field at once are delivered as given', async () => {
      const t = fill('&', 512);
      const c = w.push.subscribe();
      await w.registerWebPush(t, c);
      const id = 'e'.repeat(127) + '~';
      const dontNotify = Array.from(
        { length: 1000 },
        (_, i) => `"${w.h.baseUrl}/v1/registrations/${String(i).padStart(22, 'A')}"`,
      );
      await w.sendEvent({
        topic: t,
        changes: ['property', 'content'],
        syncToken: fill('<', 1024),
        urgency: 'high',
        ttl: 2_419_200,
        dontNotify,
        id,
      });
      expect(await w.finished(id)).toMatchObject({ accepted: 1 });
      const xml = c.decrypt(w.pushesTo(c)[0]!.body);
      expect(xml).toContain(`<topic>${fill('&amp;', 512 * 5)}</topic>`);
      const oneChar = '∅';
      const d = w.push.subscribe();
      await w.registerWebPush(oneChar, d);
      await w.finished(await w.sendEvent({ topic: oneChar, changes: ['content'], syncToken: 's' }));
      expect(d.decrypt(w.pushesTo(d)[0]!.body)).toContain('<D:sync-token>s</D:sync-token>');
    });

    it('an event already stored with a sync-token XML cannot carry (an older version took it) is dead-lettered with the reason, once', async () => {
      const t = w.topicName('legacy');
      const c = w.push.subscribe();
      const r = await w.registerWebPush(t, c);
      const id = `legacy-${t}`;
      await w.h.app.get(EventStore).accept([
        {
          id,
          tenantId: w.tenantId,
          topic: t,
          changes: ['content'],
          syncToken: 'a\u0001b',
          urgency: 'high',
          ttl: 60,
          dontNotify: [],
          receivedAt: Date.now(),
        },
      ]);
      await w.h.app.get(JobPublisher).scheduleFanout({ tenantId: w.tenantId, topic: t }, true);
      expect(await w.finished(id)).toMatchObject({ accepted: 0, failed: 1 });
      expect(w.pushesTo(c)).toHaveLength(0);
      expect((await w.deadLetters()).filter((d) => d.registrationId === r.id).map((d) => d.reason)).toEqual([
        expect.stringMatching(/push-message cannot be sent: sync-token contains characters that XML cannot carry/),
      ]);
    });

    it('a sync-token that XML cannot carry unchanged is refused with 400 before the 202, not dropped after it', async () => {
      for (const syncToken of ['a\rb', 'a\u0001b', 'a\uD800b', 'a\uFFFEb']) {
        const res = await w.h.request('POST', '/v1/events', {
          token: w.apiKey,
          body: { topic: 'cr', changes: ['content'], syncToken },
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { detail: string }).detail).toMatch(/syncToken/);
      }
    });
  });

  describe('C4 — keys in standard base64 (and other forms real clients write)', () => {
    async function expectWorks(t: string, c: WebPushClient, location: string) {
      const id = location.split('/').pop()!;
      expect(await w.storedSubscription(id)).toMatchObject({ publicKey: c.publicKey, authSecret: c.authSecret });
      expect(
        await w.finished(await w.sendEvent({ topic: t, changes: ['content'], syncToken: `k-${id}` })),
      ).toMatchObject({ accepted: 1 });
      expect(c.decrypt(w.pushesTo(c).at(-1)!.body)).toContain(`<D:sync-token>k-${id}</D:sync-token>`);
    }

    /** A JSON and an XML registration with both keys written by `encode`: 201, stored canonical, pushes decrypt. */
    async function expectWorksInJsonAndXml(encode: (b64url: string) => string) {
      const c = w.subscriberWithStandardChars();
      const t1 = w.topicName('b64-json');
      const json = await w.registerJson(t1, {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: encode(c.publicKey),
          authSecret: encode(c.authSecret),
        },
      });
      expect(json.res.status).toBe(201);
      await expectWorks(t1, c, json.location);
      const x = w.subscriberWithStandardChars();
      const t2 = w.topicName('b64-xml');
      const xml = await w.registerXml(t2, webPushXml(x, encode(x.publicKey), encode(x.authSecret)));
      expect(xml.status).toBe(201);
      await expectWorks(t2, x, xml.headers.get('location')!);
    }

    it('right value: JSON and XML registrations with padded standard base64 → 201, stored as base64url, pushes decrypt', async () => {
      expect(std(w.subscriberWithStandardChars().publicKey)).toMatch(/[+/].*=$/);
      await expectWorksInJsonAndXml(std);
    });

    it.each<[string, (v: string) => string]>([
      ['standard base64 without padding', (v) => std(v).replace(/=+$/, '')],
      ['base64url with padding', (v) => `${v}${'='.repeat((4 - (v.length % 4)) % 4)}`],
      [
        'wrapped at 76 characters with a trailing newline (Android Base64.DEFAULT)',
        (v) => `${std(v).replace(/(.{76})/g, '$1\n')}\n`,
      ],
      ['pretty-printed across lines', (v) => `\n        ${std(v).slice(0, 30)}\n        ${std(v).slice(30)}\n      `],
    ])('%s, in JSON and in XML', async (_name, encode) => {
      await expectWorksInJsonAndXml(encode);
    });

    it('the browser form (keys.p256dh / keys.auth) in standard base64 too', async () => {
      const c = w.subscriberWithStandardChars();
      const t = w.topicName('b64-browser');
      const r = await w.registerJson(t, {
        endpoint: c.pushResource,
        expirationTime: null,
        keys: { p256dh: std(c.publicKey), auth: std(c.authSecret) },
      });
      expect(r.res.status).toBe(201);
      await expectWorks(t, c, r.location);
    });

    it('registering the same subscription in another encoding updates it (one stored form)', async () => {
      const c = w.subscriberWithStandardChars();
      const t = w.topicName('b64-same');
      const first = await w.registerJson(t, {
        subscription: {
          type: 'web-push',
          pushResource: c.pushResource,
          publicKey: std(c.publicKey),
          authSecret: std(c.authSecret),
        },
      });
      const again = await w.registerWebPush(t, c);
      expect([first.res.status, again.res.status]).toEqual([201, 204]);
      expect(again.location).toBe(first.location);
    });

    it('an FCM token broken over lines by XML pretty-printing is stored without the line breaks', async () => {
      const token = `cQ1:APA91bF-${'z'.repeat(150)}`;
      const t = w.topicName('fcm-ws');
      const res = await w.registerXml(
        t,
        `<push-register xmlns="https://bitfire.at/webdav-push" xmlns:X="https://davpush.dev/ns"><subscription><X:fcm-subscription><X:token>\n    ${token.slice(0, 80)}\n    ${token.slice(80)}\n  </X:token></X:fcm-subscription></subscription></push-register>`,
      );
      expect(res.status).toBe(201);
      expect(await w.storedSubscription(res.headers.get('location')!.split('/').pop()!)).toEqual({
        type: 'fcm',
        token,
      });
    });

    it.each([
      ['a wrong length', (c: WebPushClient) => std(c.publicKey).slice(0, 80)],
      ['a character of neither alphabet', (c: WebPushClient) => `${std(c.publicKey).slice(0, -2)}*=`],
      ['padding in the middle', (c: WebPushClient) => `${std(c.publicKey).slice(0, 8)}=${std(c.publicKey).slice(8)}`],
    ])('still refuses %s with 403 invalid-subscription', async (_name, key) => {
      const c = w.push.subscribe();
      const r = await w.registerJson(w.topicName('b64-bad'), {
        subscription: { type: 'web-push', pushResource: c.pushResource, publicKey: key(c), authSecret: c.authSecret },
      });
      expect(r.res.status).toBe(403);
      expect(((await r.res.json()) as { precondition: string }).precondition).toBe('invalid-subscription');
    });
  });

  // Last: it switches the VAPID key under everything else.
  describe('C1 (kind) — the messages davpush composes itself', () => {
    it('the message davpush composes itself (VAPID key rotation) fits too; nothing this file sent was larger', async () => {
      const before = w.push.received().length;
      await w.h.app.get(VapidRotationService).rotate();
      const rotation = w.push.received().slice(before);
      expect(rotation.length).toBeGreaterThan(0);
      const all: PushRecord[] = w.push.received();
      expect(all.every((r) => r.body.length <= 4096 && recordsOf(r.body) === 1 && r.status !== 413)).toBe(true);
      expect(w.push.decryptRecord(rotation[0]!)).toContain(
        '<property-update><D:prop><transports/></D:prop></property-update>',
      );
    });
  });
});
