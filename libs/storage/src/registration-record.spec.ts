import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Subscription, Trigger } from '@davpush/domain';
import {
  decodeValue,
  encodeValue,
  identityDigest,
  packRecord,
  transportOfPacked,
  transportOfValue,
  unpackRecord,
} from './registration-record';

const ecdh = createECDH('prime256v1');
ecdh.generateKeys();
const webPush: Subscription = {
  type: 'web-push',
  pushResource: `https://push.example/${'é'.repeat(80)}`,
  publicKey: ecdh.getPublicKey('base64url'),
  authSecret: randomBytes(16).toString('base64url'),
  contentEncoding: 'aes128gcm',
};

describe('packed registration record', () => {
  it.each<[string, Subscription, Trigger]>([
    ['web push, content trigger', webPush, { contentUpdate: { depth: '1' } }],
    [
      'web push, both triggers with property names',
      webPush,
      {
        contentUpdate: { depth: 'infinity' },
        propertyUpdate: { depth: '0', props: ['{DAV:}displayname', '{urn:x}ä'] },
      },
    ],
    [
      'fcm, property trigger without names',
      { type: 'fcm', token: 'tok:' + 'x'.repeat(150) },
      { propertyUpdate: { depth: '0', props: [] } },
    ],
    [
      'web push with a non-canonical key (kept as JSON)',
      { ...webPush, publicKey: webPush.publicKey + '=' } as Subscription,
      {},
    ],
    [
      'web push to FCM, token packed',
      {
        ...webPush,
        pushResource: `https://fcm.googleapis.com/fcm/send/abc:APA91b${randomBytes(100).toString('base64url')}`,
      },
      {},
    ],
    [
      'web push, odd token and a query',
      { ...webPush, pushResource: 'https://push.example:8443/p/a-b_c?x=1&y=AAAA' },
      {},
    ],
    ['web push, long text', { ...webPush, pushResource: `https://push.example/${'/'.repeat(300)}x` }, {}],
  ])('round-trips %s, with the delivery record around it', (_, subscription, trigger) => {
    const packed = packRecord(subscription, trigger);
    expect(unpackRecord(packed)).toEqual({ subscription, trigger });
    const record = {
      secret: randomBytes(16),
      createdAt: 1_700_000_000_123,
      updatedAt: 1_700_000_000_456,
      lastSuccessAt: 1_700_000_000_789,
      consecutiveFailures: 3,
      principal: 'älice',
      clientId: 'c1',
      subscription,
      trigger,
    };
    expect(decodeValue(encodeValue(record))).toEqual(record);
    expect(transportOfValue(encodeValue(record))).toBe(transportOfPacked(packed));
  });

  it('keeps the keys raw and the token as bytes: a typical FCM web push record is under 224 bytes', () => {
    const token = `${randomBytes(12).toString('base64url')}:APA91b${randomBytes(80).toString('base64url')}`;
    const sub = { ...webPush, pushResource: `https://fcm.googleapis.com/fcm/send/${token}`.slice(0, 152) };
    const value = encodeValue({
      secret: randomBytes(16),
      createdAt: 1,
      updatedAt: 1,
      consecutiveFailures: 0,
      subscription: sub,
      trigger: { contentUpdate: { depth: '1' } },
    });
    expect(value.length).toBeLessThan(224);
    expect(transportOfPacked(packRecord(webPush, {}))).toBe('web-push');
    expect(transportOfPacked(packRecord({ type: 'fcm', token: 't' }, {}))).toBe('fcm');
  });

  it('gives one 12-byte identity per push resource, whatever the keys', () => {
    const other = { ...webPush, authSecret: randomBytes(16).toString('base64url') };
    expect(identityDigest(webPush)).toHaveLength(12);
    expect(identityDigest(other)).toEqual(identityDigest(webPush));
    expect(identityDigest({ ...webPush, pushResource: 'https://push.example/b' })).not.toEqual(identityDigest(webPush));
  });
});
