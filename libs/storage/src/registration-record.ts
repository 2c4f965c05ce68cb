import { createHash } from 'node:crypto';
import { subscriptionIdentity, type Depth, type Subscription, type Transport, type Trigger } from '@davpush/domain';

/**
 * The stored form of a registration: one Redis hash per registration with one-letter fields, every
 * value at most 64 bytes, so Redis keeps it in its compact listpack encoding under the default
 * `hash-max-listpack-value 64` / `hash-max-listpack-entries 128` (https://redis.io/docs/latest/develop/data-types/hashes/,
 * "memory optimization"), which works on any external Redis without configuration. The
 * subscription is packed to bytes (raw keys, not base64) and cut into 64-byte pieces `s0`, `s1`, ….
 *
 * Fields: t tenant id · p topic · i identity digest (16 bytes) · q principal digest ·
 * o principal · e expiresAt · c createdAt · u updatedAt (epoch ms) · k CC/CD 70025
 * client id · l lastSuccessAt · f consecutive failures · n number of pieces · s0…s(n-1) trigger and
 * subscription (see {@link packRecord}).
 * Index key names are not stored: they are made from t, the digest of p, and q (see `INDEX_KEYS` in registration.scripts.ts).
 */
export const PIECE_BYTES = 64;

const WEB_PUSH = 1;
const FCM = 2;
/** Anything the compact forms cannot hold exactly: the subscription JSON. */
const JSON_FORM = 0;

const P256DH_BYTES = 65;
const AUTH_BYTES = 16;

/**
 * The identity that makes a re-registration an update, as the key of a topic's identity hash:
 * the first 128 bits of its SHA-256 (a collision needs ~2^64 tries, and could only merge two
 * subscriptions of one tenant's own topic).
 */
export const identityDigest = (s: Subscription): Buffer => createHash('sha256').update(subscriptionIdentity(s)).digest().subarray(0, 16);

const DEPTHS: readonly Depth[] = ['0', '1', 'infinity'];
const WITH_PROPS = 0x10;

/** Trigger and subscription as bytes: the transport byte, the trigger ({@link packTrigger}), the subscription. */
export function packRecord(subscription: Subscription, trigger: Trigger): Buffer {
  const sub = packSubscription(subscription);
  return Buffer.concat([sub.subarray(0, 1), packTrigger(trigger), sub.subarray(1)]);
}

export function unpackRecord(b: Buffer): { subscription: Subscription; trigger: Trigger } {
  const { trigger, length } = unpackTrigger(b, 1);
  return { trigger, subscription: unpackSubscription(Buffer.concat([b.subarray(0, 1), b.subarray(1 + length)])) };
}

/**
 * One byte: bits 0-1 content-update depth, bits 2-3 property-update depth (0 = absent, then
 * '0', '1', 'infinity'); bit 4 = property names follow as a 2-byte length and a JSON array.
 */
function packTrigger(t: Trigger): Buffer {
  const code = (d: Depth | undefined) => (d ? DEPTHS.indexOf(d) + 1 : 0);
  const props = t.propertyUpdate?.props ?? [];
  const flags = code(t.contentUpdate?.depth) | (code(t.propertyUpdate?.depth) << 2) | (props.length > 0 ? WITH_PROPS : 0);
  if (props.length === 0) return Buffer.of(flags);
  const json = Buffer.from(JSON.stringify(props), 'utf8');
  const head = Buffer.alloc(3);
  head.writeUInt8(flags, 0);
  head.writeUInt16BE(json.length, 1);
  return Buffer.concat([head, json]);
}

function unpackTrigger(b: Buffer, at: number): { trigger: Trigger; length: number } {
  const flags = b[at]!;
  const depth = (c: number): Depth | undefined => DEPTHS[c - 1];
  const trigger: Trigger = {};
  const content = depth(flags & 3);
  const property = depth((flags >> 2) & 3);
  if (content) trigger.contentUpdate = { depth: content };
  let length = 1;
  let props: string[] = [];
  if (flags & WITH_PROPS) {
    const n = b.readUInt16BE(at + 1);
    props = JSON.parse(b.subarray(at + 3, at + 3 + n).toString('utf8')) as string[];
    length = 3 + n;
  }
  if (property) trigger.propertyUpdate = { depth: property, props };
  return { trigger, length };
}

/** The subscription as bytes: web-push = 0x01, p256dh (65), auth (16), push resource; fcm = 0x02, token. */
function packSubscription(s: Subscription): Buffer {
  if (s.type === 'web-push') {
    const key = Buffer.from(s.publicKey, 'base64url');
    const auth = Buffer.from(s.authSecret, 'base64url');
    // Only canonical values round-trip; anything else keeps its exact text (registration.ts normalises, so this is a guard).
    if (key.length === P256DH_BYTES && auth.length === AUTH_BYTES && key.toString('base64url') === s.publicKey && auth.toString('base64url') === s.authSecret && s.contentEncoding === 'aes128gcm') {
      return Buffer.concat([Buffer.of(WEB_PUSH), key, auth, Buffer.from(s.pushResource, 'utf8')]);
    }
  } else if (s.type === 'fcm') {
    return Buffer.concat([Buffer.of(FCM), Buffer.from(s.token, 'utf8')]);
  }
  return Buffer.concat([Buffer.of(JSON_FORM), Buffer.from(JSON.stringify(s), 'utf8')]);
}

function unpackSubscription(b: Buffer): Subscription {
  switch (b[0]) {
    case WEB_PUSH:
      return {
        type: 'web-push',
        publicKey: b.subarray(1, 1 + P256DH_BYTES).toString('base64url'),
        authSecret: b.subarray(1 + P256DH_BYTES, 1 + P256DH_BYTES + AUTH_BYTES).toString('base64url'),
        pushResource: b.subarray(1 + P256DH_BYTES + AUTH_BYTES).toString('utf8'),
        contentEncoding: 'aes128gcm',
      };
    case FCM:
      return { type: 'fcm', token: b.subarray(1).toString('utf8') };
    default:
      return JSON.parse(b.subarray(1).toString('utf8')) as Subscription;
  }
}

/** The transport of a packed subscription (its first piece is enough), or undefined. */
export function transportOfPacked(firstPiece: Buffer | null | undefined): Transport | undefined {
  if (!firstPiece || firstPiece.length === 0) return undefined;
  if (firstPiece[0] === WEB_PUSH) return 'web-push';
  if (firstPiece[0] === FCM) return 'fcm';
  return undefined; // the JSON form (never written for a valid subscription): not worth reading whole for a sample
}

/** Cuts bytes into pieces of at most {@link PIECE_BYTES}. */
export function toPieces(b: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < b.length; i += PIECE_BYTES) pieces.push(b.subarray(i, i + PIECE_BYTES));
  return pieces;
}

/** Field names of the pieces of a registration that has `n` of them. */
export const pieceFields = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);
