import { createHash } from 'node:crypto';
import { subscriptionIdentity, type Depth, type Subscription, type Transport, type Trigger } from '@davpush/domain';

/**
 * The stored form of a registration: one field of its topic's hash (keys.ts `topicKeys`), named by
 * the subscription's 12-byte identity, holding {@link RegistrationValue} as bytes:
 *
 *   0 flags (bit 0 a principal follows, bit 1 a CC/CD 70025 client id follows) · 1-16 secret (the
 *   capability half of the registration id) · 17-22 createdAt · 23-28 updatedAt · 29-34 lastSuccessAt
 *   (0 = never; all epoch ms, 48-bit big-endian) · 35-36 consecutive failures · then the principal and
 *   the client id (each a 16-bit length and UTF-8), then the trigger and subscription ({@link packRecord}).
 *
 * The expiry is the score of the identity in the topic's expiry index; tenant and topic are kept once
 * per topic. The Lua scripts of registration.scripts.ts read and splice the same offsets.
 * A typical Web Push registration packs to about 230 bytes, which Redis keeps in one 256-byte allocation.
 */

const WEB_PUSH = 1;
const FCM = 2;
/** Anything the compact forms cannot hold exactly: the subscription JSON. */
const JSON_FORM = 0;

const P256DH_BYTES = 65;
const AUTH_BYTES = 16;

/**
 * The identity that makes a re-registration an update, as the field of its topic's hash: the first
 * 96 bits of its SHA-256 (a collision needs ~2^48 registrations on one topic, and could only merge
 * two subscriptions of one tenant's own topic).
 */
export const identityDigest = (s: Subscription): Buffer =>
  createHash('sha256').update(subscriptionIdentity(s)).digest().subarray(0, IDENTITY_BYTES);

export const IDENTITY_BYTES = 12;
export const SECRET_BYTES = 16;
const HEADER_BYTES = 37;

/** What a topic's hash holds per registration (see the layout above). */
export interface RegistrationValue {
  secret: Buffer;
  createdAt: number;
  updatedAt: number;
  lastSuccessAt?: number;
  consecutiveFailures: number;
  principal?: string;
  clientId?: string;
  subscription: Subscription;
  trigger: Trigger;
}

export function encodeValue(v: RegistrationValue): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8((v.principal ? 1 : 0) | (v.clientId ? 2 : 0), 0);
  v.secret.copy(head, 1);
  head.writeUIntBE(v.createdAt, 17, 6);
  head.writeUIntBE(v.updatedAt, 23, 6);
  head.writeUIntBE(v.lastSuccessAt ?? 0, 29, 6);
  head.writeUInt16BE(Math.min(v.consecutiveFailures, 0xffff), 35);
  const text = (t: string | undefined) => {
    if (!t) return [];
    const b = Buffer.from(t, 'utf8');
    const n = Buffer.alloc(2);
    n.writeUInt16BE(b.length);
    return [n, b];
  };
  return Buffer.concat([head, ...text(v.principal), ...text(v.clientId), packRecord(v.subscription, v.trigger)]);
}

export function decodeValue(b: Buffer): RegistrationValue {
  const flags = b[0]!;
  let at = HEADER_BYTES;
  const text = (present: boolean) => {
    if (!present) return undefined;
    const n = b.readUInt16BE(at);
    const t = b.subarray(at + 2, at + 2 + n).toString('utf8');
    at += 2 + n;
    return t;
  };
  const principal = text((flags & 1) !== 0);
  const clientId = text((flags & 2) !== 0);
  const lastSuccessAt = b.readUIntBE(29, 6);
  return {
    secret: b.subarray(1, 17),
    createdAt: b.readUIntBE(17, 6),
    updatedAt: b.readUIntBE(23, 6),
    ...(lastSuccessAt ? { lastSuccessAt } : {}),
    consecutiveFailures: b.readUInt16BE(35),
    ...(principal !== undefined ? { principal } : {}),
    ...(clientId !== undefined ? { clientId } : {}),
    ...unpackRecord(b.subarray(at)),
  };
}

/** The transport of a stored value, read from its first bytes only; undefined for the JSON form. */
export function transportOfValue(b: Buffer | null | undefined): Transport | undefined {
  if (!b || b.length <= HEADER_BYTES) return undefined;
  let at = HEADER_BYTES;
  for (const bit of [1, 2]) if (b[0]! & bit) at += 2 + b.readUInt16BE(at);
  return transportOfPacked(b.subarray(at));
}

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
  const flags =
    code(t.contentUpdate?.depth) | (code(t.propertyUpdate?.depth) << 2) | (props.length > 0 ? WITH_PROPS : 0);
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

/**
 * The subscription as bytes: web-push = 0x01, p256dh (65), auth (16), the push resource
 * ({@link packEndpoint}); fcm = 0x02, token.
 */
function packSubscription(s: Subscription): Buffer {
  if (s.type === 'web-push') {
    const key = Buffer.from(s.publicKey, 'base64url');
    const auth = Buffer.from(s.authSecret, 'base64url');
    // Only canonical values round-trip; anything else keeps its exact text (registration.ts normalises, so this is a guard).
    if (
      key.length === P256DH_BYTES &&
      auth.length === AUTH_BYTES &&
      key.toString('base64url') === s.publicKey &&
      auth.toString('base64url') === s.authSecret &&
      s.contentEncoding === 'aes128gcm'
    ) {
      return Buffer.concat([Buffer.of(WEB_PUSH), key, auth, packEndpoint(s.pushResource)]);
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
        pushResource: unpackEndpoint(b.subarray(1 + P256DH_BYTES + AUTH_BYTES)),
        contentEncoding: 'aes128gcm',
      };
    case FCM:
      return { type: 'fcm', token: b.subarray(1).toString('utf8') };
    default:
      return JSON.parse(b.subarray(1).toString('utf8')) as Subscription;
  }
}

/** Beginnings of push resources, stored as their index (0 = none): the push services most registrations go to. */
const ENDPOINT_PREFIXES = [
  '',
  'https://fcm.googleapis.com/fcm/send/',
  'https://updates.push.services.mozilla.com/wpush/v2/',
  'https://updates.push.services.mozilla.com/wpush/v1/',
  'https://web.push.apple.com/',
  'https://',
];
const BASE64URL_TAIL = /[A-Za-z0-9_-]*$/;

/**
 * A push resource as bytes: its known beginning as one byte, a byte giving the length of the text
 * that follows, and the base64url token that push services end their URLs with as the bytes it
 * encodes (3 bytes per 4 characters). Decoding is Buffer's own base64url, so nothing slows the fan-out.
 */
function packEndpoint(url: string): Buffer {
  let prefix = 0;
  ENDPOINT_PREFIXES.forEach((p, i) => {
    if (i > 0 && url.startsWith(p) && p.length > ENDPOINT_PREFIXES[prefix]!.length) prefix = i;
  });
  const rest = url.slice(ENDPOINT_PREFIXES[prefix]!.length);
  const tail = BASE64URL_TAIL.exec(rest)![0];
  const token = tail.slice(tail.length % 4);
  const text = Buffer.from(rest.slice(0, rest.length - token.length), 'utf8');
  if (text.length >= 255) return Buffer.concat([Buffer.of(prefix, 255), Buffer.from(rest, 'utf8')]);
  return Buffer.concat([Buffer.of(prefix, text.length), text, Buffer.from(token, 'base64url')]);
}

function unpackEndpoint(b: Buffer): string {
  const prefix = ENDPOINT_PREFIXES[b[0]!] ?? '';
  if (b[1] === 255) return prefix + b.subarray(2).toString('utf8');
  const end = 2 + b[1]!;
  return prefix + b.subarray(2, end).toString('utf8') + b.subarray(end).toString('base64url');
}

/** The transport of a packed subscription (its first piece is enough), or undefined. */
export function transportOfPacked(firstPiece: Buffer | null | undefined): Transport | undefined {
  if (!firstPiece || firstPiece.length === 0) return undefined;
  if (firstPiece[0] === WEB_PUSH) return 'web-push';
  if (firstPiece[0] === FCM) return 'fcm';
  return undefined; // the JSON form (never written for a valid subscription): not worth reading whole for a sample
}
