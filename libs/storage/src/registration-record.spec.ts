import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Subscription, Trigger } from '@davpush/domain';
import { identityDigest, packRecord, PIECE_BYTES, toPieces, transportOfPacked, unpackRecord } from './registration-record';

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
    ['web push, both triggers with property names', webPush, { contentUpdate: { depth: 'infinity' }, propertyUpdate: { depth: '0', props: ['{DAV:}displayname', '{urn:x}ä'] } }],
    ['fcm, property trigger without names', { type: 'fcm', token: 'tok:' + 'x'.repeat(150) }, { propertyUpdate: { depth: '0', props: [] } }],
    ['web push with a non-canonical key (kept as JSON)', { ...webPush, publicKey: webPush.publicKey + '=' } as Subscription, {}],
  ])('round-trips %s, in pieces of at most 64 bytes', (_, subscription, trigger) => {
    const packed = packRecord(subscription, trigger);
    const pieces = toPieces(packed);
    expect(pieces.every((p) => p.length <= PIECE_BYTES)).toBe(true);
    expect(unpackRecord(Buffer.concat(pieces))).toEqual({ subscription, trigger });
  });

  it('keeps the keys raw: a typical web push record is the endpoint plus 83 bytes', () => {
    const packed = packRecord(webPush, { contentUpdate: { depth: '1' } });
    expect(packed.length).toBe(Buffer.byteLength(webPush.pushResource) + 1 + 1 + 65 + 16);
    expect(transportOfPacked(packed)).toBe('web-push');
    expect(transportOfPacked(packRecord({ type: 'fcm', token: 't' }, {}))).toBe('fcm');
  });

  it('gives one 16-byte identity per push resource, whatever the keys', () => {
    const other = { ...webPush, authSecret: randomBytes(16).toString('base64url') };
    expect(identityDigest(webPush)).toHaveLength(16);
    expect(identityDigest(other)).toEqual(identityDigest(webPush));
    expect(identityDigest({ ...webPush, pushResource: 'https://push.example/b' })).not.toEqual(identityDigest(webPush));
  });
});
