import { describe, expect, it } from 'vitest';
import {
  FCM_MAX_DATA_BYTES,
  pushMessageFor,
  WEB_PUSH_MAX_PLAINTEXT_BYTES,
  type PushMessage,
  type Urgency,
} from '@davpush/domain';
import { buildPushMessageWithin, PushMessageTooLargeError } from '@davpush/webdav-push';
import type { PushDelivery } from '../push-gateway';
import { buildFcmMessage as sut, dataBytes } from './fcm-message.builder';

const XML = '<push-message xmlns="https://bitfire.at/webdav-push"/>';

function delivery(message: PushMessage, urgency: Urgency, ttlSeconds: number): PushDelivery {
  return {
    registration: {
      id: 'r1',
      tenantId: 't1',
      topic: message.topic ?? '',
      subscription: { type: 'fcm', token: 'fcm-token-1' },
      trigger: { contentUpdate: { depth: '1' } },
      expiresAt: 0,
      createdAt: 0,
      updatedAt: 0,
      consecutiveFailures: 0,
    },
    message,
    payload: XML,
    ttlSeconds,
    urgency,
    collapseKey: 'ck',
  };
}

describe('buildFcmMessage', () => {
  it.each<[string, PushMessage, Urgency, number, Record<string, string>, { priority: string; ttl: number }]>([
    [
      'content with sync-token',
      { topic: 'T', contentUpdate: { syncToken: 'S1' } },
      'high',
      3600,
      { topic: 'T', changes: 'content', sync_token: 'S1' },
      { priority: 'high', ttl: 3_600_000 },
    ],
    [
      'content without sync-token',
      { topic: 'T', contentUpdate: {} },
      'normal',
      60,
      { topic: 'T', changes: 'content' },
      { priority: 'normal', ttl: 60_000 },
    ],
    [
      'content and property',
      { topic: 'T', contentUpdate: { syncToken: 'S2' }, propertyUpdate: {} },
      'low',
      0,
      { topic: 'T', changes: 'content,property', sync_token: 'S2' },
      { priority: 'normal', ttl: 0 },
    ],
    [
      'property only',
      { topic: 'T', propertyUpdate: { props: ['{DAV:}displayname'] } },
      'very-low',
      43_200,
      { topic: 'T', changes: 'property' },
      { priority: 'normal', ttl: 43_200_000 },
    ],
    [
      'key rotation (no topic)',
      { propertyUpdate: { props: ['{https://bitfire.at/webdav-push}transports'] } },
      'high',
      100,
      { changes: 'property' },
      { priority: 'high', ttl: 100_000 },
    ],
    [
      'TTL over 4 weeks is capped',
      { topic: 'T', contentUpdate: {} },
      'normal',
      10_000_000,
      { topic: 'T', changes: 'content' },
      { priority: 'normal', ttl: 2_419_200_000 },
    ],
    [
      'negative and fractional TTL',
      { topic: 'T', contentUpdate: {} },
      'normal',
      -5.5,
      { topic: 'T', changes: 'content' },
      { priority: 'normal', ttl: 0 },
    ],
    [
      'fractional TTL is floored',
      { topic: 'T', contentUpdate: {} },
      'normal',
      59.9,
      { topic: 'T', changes: 'content' },
      { priority: 'normal', ttl: 59_000 },
    ],
  ])('%s', (_name, message, urgency, ttl, data, android) => {
    expect(sut(delivery(message, urgency, ttl))).toEqual({
      token: 'fcm-token-1',
      data: { ...data, push_message: XML },
      android: { ...android, collapseKey: 'ck' },
    });
  });

  it('puts the data keys in the order README "FCM (our own apps)" lists them', () => {
    const m = sut(delivery({ topic: 'T', contentUpdate: { syncToken: 'S' }, propertyUpdate: {} }, 'high', 1));
    expect(Object.keys(m.data!)).toEqual(['topic', 'changes', 'sync_token', 'push_message']);
  });

  it('refuses a web-push registration', () => {
    const d = delivery({ topic: 'T' }, 'high', 1);
    d.registration.subscription = {
      type: 'web-push',
      pushResource: 'https://push.example/x',
      publicKey: 'k',
      authSecret: 'a',
      contentEncoding: 'aes128gcm',
    };
    expect(() => sut(d)).toThrow(/web-push/);
  });
});

describe('buildFcmMessage: FCM data within 4096 bytes (C1 kind)', () => {
  // The longest each accepts (libs/application/src/topic.ts): 512 code points and 1536 bytes of topic, 1024 code points of sync-token.
  const fill = (unit: string, n: number) => unit.repeat(Math.floor(n / [...unit].length));
  const topicOf = (unit: string) =>
    unit.repeat(Math.min(Math.floor(512 / [...unit].length), Math.floor(1536 / Buffer.byteLength(unit))));
  const units = ['a', '&', '<', '"', '\\', 'あ', '😀', '\u2028', '&😀'];

  it.each(units.flatMap((t) => units.map((s) => [t, s])))(
    'topic of %j, sync-token of %j: fits, topic intact, sync-token whole or absent everywhere',
    (t, s) => {
      const topic = topicOf(t);
      const syncToken = fill(s, 1024);
      const fitted = buildPushMessageWithin(
        pushMessageFor(topic, ['content', 'property'], syncToken),
        WEB_PUSH_MAX_PLAINTEXT_BYTES,
      );
      const m = sut({ ...delivery(fitted.message, 'normal', 60), payload: fitted.payload });
      const data = m.data!;
      expect(dataBytes(data)).toBeLessThanOrEqual(FCM_MAX_DATA_BYTES);
      expect(
        Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0),
      ).toBeLessThanOrEqual(4096);
      expect(data.topic).toBe(topic);
      expect(data.changes).toBe('content,property');
      const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      expect(data.push_message).toContain(`<topic>${esc(topic)}</topic>`);
      // Whole in both places, or in neither.
      const kept = data.sync_token !== undefined;
      expect(data.sync_token).toBe(kept ? syncToken : undefined);
      expect(data.push_message!.includes(`<D:sync-token>${esc(syncToken)}</D:sync-token>`)).toBe(kept);
      expect(data.push_message!.includes('sync-token')).toBe(kept);
    },
  );

  it('keeps the sync-token when it fits', () => {
    const fitted = buildPushMessageWithin(
      pushMessageFor('cal', ['content'], 'S'.repeat(1024)),
      WEB_PUSH_MAX_PLAINTEXT_BYTES,
    );
    expect(sut({ ...delivery(fitted.message, 'normal', 60), payload: fitted.payload }).data!.sync_token).toBe(
      'S'.repeat(1024),
    );
  });

  it('refuses (never truncates) what cannot fit', () => {
    expect(() => sut({ ...delivery({ topic: 'x'.repeat(5000), contentUpdate: {} }, 'normal', 60) })).toThrow(
      PushMessageTooLargeError,
    );
  });
});
