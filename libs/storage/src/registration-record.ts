import type { Subscription, Transport } from '@davpush/domain';

/**
 * The stored form of a registration: one Redis hash per registration with one-letter fields, every
 * value at most 64 bytes, so Redis keeps it in its compact listpack encoding under the default
 * `hash-max-listpack-value 64` / `hash-max-listpack-entries 128` (https://redis.io/docs/latest/develop/data-types/hashes/,
 * "memory optimization"), which works on any external Redis without configuration. The
 * subscription is packed to bytes (raw keys, not base64) and cut into 64-byte pieces `s0`, `s1`, ….
 *
 * Fields: t tenant id · p topic · i identity digest · h topic digest · q principal digest ·
 * o principal · g trigger JSON · e expiresAt · c createdAt · u updatedAt (epoch ms) · k CC/CD 70025
 * client id · l lastSuccessAt · f consecutive failures · n number of pieces · s0…s(n-1) subscription.
 * Index key names are not stored: they are made from t, h and q (see `INDEX_KEYS` in registration.scripts.ts).
 */
export const PIECE_BYTES = 64;

const WEB_PUSH = 1;
const FCM = 2;
/** Anything the compact forms cannot hold exactly: the subscription JSON. */
const JSON_FORM = 0;

const P256DH_BYTES = 65;
const AUTH_BYTES = 16;

/** The subscription as bytes: web-push = 0x01, p256dh (65), auth (16), push resource; fcm = 0x02, token. */
export function packSubscription(s: Subscription): Buffer {
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

export function unpackSubscription(b: Buffer): Subscription {
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
  try {
    const type = (JSON.parse(firstPiece.subarray(1).toString('utf8')) as { type?: unknown }).type;
    return type === 'web-push' || type === 'fcm' ? type : undefined;
  } catch {
    return undefined; // a JSON form longer than one piece: not worth reading the rest for a sample
  }
}

/** Cuts bytes into pieces of at most {@link PIECE_BYTES}. */
export function toPieces(b: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let i = 0; i < b.length; i += PIECE_BYTES) pieces.push(b.subarray(i, i + PIECE_BYTES));
  return pieces;
}

/** Field names of the pieces of a registration that has `n` of them. */
export const pieceFields = (n: number): string[] => Array.from({ length: n }, (_, i) => `s${i}`);
