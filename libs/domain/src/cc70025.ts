/**
 * CalConnect CC/CD 70025 (draft-gajda-dav-push-00, "Push Discovery and Notification Dispatch
 * Protocol") mapped onto davpush's own model: pure rules, no I/O. The decisions taken where the
 * draft contradicts itself are listed in docs/cc70025.md.
 */
import { DomainError, PreconditionFailedError, ValidationError } from './errors';
import type { Urgency } from './change-event';
import { isPushClientId } from './push-client-id';
import type { RawFcmSubscription, RawWebPushSubscription } from './registration';
import { parseRfc3339 } from './rfc3339';
import type { Transport } from './subscription';

/** Draft §6.1.3: `priority` 0..100, "implementations SHOULD default to 50". */
export const DEFAULT_CC_PRIORITY = 50;

/**
 * Draft priority (0 lowest … 100 highest, §6.1.3 and §8.1) → RFC 8030 §5.3 `Urgency`, in four equal
 * bands: 0–24 `very-low`, 25–49 `low`, 50–74 `normal` (so the default 50 is `normal`), 75–100
 * `high`. FCM follows the urgency as for every other event (`android.priority` `high` only for
 * `high`, libs/gateways/src/fcm/fcm-message.builder.ts).
 */
export function urgencyForPriority(priority: number): Urgency {
  if (!Number.isInteger(priority) || priority < 0 || priority > 100) {
    throw new ValidationError(`priority must be an integer from 0 to 100, not ${String(priority).slice(0, 16)}`);
  }
  if (priority >= 75) return 'high';
  if (priority >= 50) return 'normal';
  if (priority >= 25) return 'low';
  return 'very-low';
}

/** What a subscription's `expires` asks for (draft §5.2.2 and §6.2.1.6). */
export type CcExpiry = { kind: 'unsubscribe' } | { kind: 'subscribe'; expiresAt: number };

/**
 * Clock difference tolerated between an application server and davpush when it asks for exactly
 * `now + refresh-interval`: the request is granted, shortened to the interval.
 */
const CC_EXPIRY_SKEW_MS = 60_000;

/**
 * Judges a subscription's `expires` (RFC 3339): at or before now → unsubscribe (§5.2.2); beyond
 * `refresh-interval` (plus {@link CC_EXPIRY_SKEW_MS}) → refused, since a gateway "MUST not accept"
 * it (§6.2.1.6) and clamping would hide that; otherwise granted, at most now + refresh-interval,
 * to whole seconds.
 * @throws ValidationError for a missing or malformed timestamp, or one too far ahead.
 */
export function judgeCcExpiry(expires: unknown, now: number, refreshIntervalSeconds: number): CcExpiry {
  const t = parseRfc3339(expires);
  if (t === undefined) throw new ValidationError('expires must be an RFC 3339 timestamp, e.g. 2017-10-07T12:00:00Z');
  if (t <= now) return { kind: 'unsubscribe' };
  const max = now + refreshIntervalSeconds * 1000;
  if (t > max + CC_EXPIRY_SKEW_MS) {
    throw new ValidationError(
      `expires lies beyond the refresh-interval of ${refreshIntervalSeconds} s (latest ${new Date(max).toISOString()}); subscribe for less and refresh`,
    );
  }
  return { kind: 'subscribe', expiresAt: Math.floor(Math.min(t, max) / 1000) * 1000 };
}

/** What a `client-data` string carries: the subscription, and optionally the client's id. */
export interface CcClientData {
  subscription: RawWebPushSubscription | RawFcmSubscription;
  clientId?: string;
}

const MAX_CLIENT_DATA = 8 * 1024;

/** A client-data that cannot be read is a bad subscription: 403 `invalid-subscription`, as for registrations. */
const badClientData = (why: string) => new PreconditionFailedError('invalid-subscription', `client-data ${why}`);

/** A JSON object; members davpush does not know are ignored (a newer `PushSubscription.toJSON()` may add some). */
function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badClientData(`for ${what} must be JSON text (see docs/cc70025.md)`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badClientData(`for ${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badClientData(`member ${key} must be a string`);
  return v;
}

function clientIdOf(o: Record<string, unknown>): string | undefined {
  const a = o['client-id'];
  const b = o.clientId;
  if (a !== undefined && b !== undefined) throw badClientData('must carry client-id or clientId, not both');
  const v = a ?? b;
  if (v === undefined) return undefined;
  if (!isPushClientId(v)) throw badClientData('client-id must be 1 to 256 token characters (RFC 7230 tchar)');
  return v;
}

/**
 * Reads `client-data` (draft §6.2.2.3: an opaque string, "the format … is not defined") as davpush
 * defines it per transport (docs/cc70025.md):
 *
 * - `web-push`: the JSON text of the Push API's `PushSubscription.toJSON()`:
 *   `{"endpoint", "keys": {"p256dh", "auth"}, "expirationTime"?: null|number, "contentEncoding"?: "aes128gcm", "client-id"?}`
 * - `fcm`: the bare FCM registration token, or JSON `{"token", "client-id"?}`.
 *
 * Only the shape is judged here; the values (https, public address, key lengths) are judged by
 * `validateRegistrationRequest`, exactly as for a WebDAV-Push registration.
 * @throws PreconditionFailedError `invalid-subscription` for anything else.
 */
export function parseClientData(transport: Transport, clientData: unknown): CcClientData {
  if (typeof clientData !== 'string') throw badClientData('must be a string');
  const text = clientData.trim();
  if (text === '') throw badClientData('is empty');
  if (text.length > MAX_CLIENT_DATA) throw badClientData(`exceeds ${MAX_CLIENT_DATA} characters`);
  if (transport === 'fcm') {
    if (!text.startsWith('{')) return { subscription: { type: 'fcm', token: text } };
    const o = parseObject(text, 'fcm');
    const token = optionalString(o, 'token');
    if (token === undefined) throw badClientData('for fcm needs a token');
    return { subscription: { type: 'fcm', token }, clientId: clientIdOf(o) };
  }
  const o = parseObject(text, 'web-push');
  const keys = o.keys;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys))
    throw badClientData('for web-push needs keys {p256dh, auth}');
  const k = keys as Record<string, unknown>;
  const p256dh = optionalString(k, 'p256dh');
  const auth = optionalString(k, 'auth');
  const expirationTime = o.expirationTime;
  if (expirationTime !== undefined && expirationTime !== null && typeof expirationTime !== 'number') {
    throw badClientData('member expirationTime must be null or a number');
  }
  return {
    subscription: {
      type: 'web-push',
      pushResource: optionalString(o, 'endpoint'),
      publicKey: p256dh,
      authSecret: auth,
      contentEncoding: optionalString(o, 'contentEncoding'),
    },
    clientId: clientIdOf(o),
  };
}

/**
 * A `transport-uri` (draft §6.2.1.4) in the normal form it is compared in: RFC 3986 §6.2.2 and
 * §6.2.3 as WHATWG URL writes it (scheme and host lower-cased, the scheme's default port dropped,
 * dot segments removed), without trailing slashes; undefined when it is not an absolute URI.
 */
export function normalizeTransportUri(uri: string): string | undefined {
  if (uri.length > 2048 || !URL.canParse(uri)) return undefined;
  const u = new URL(uri);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}${u.search}`;
}

/**
 * One transport as a gateway advertises it (draft §6.1.1 bootstrap, §6.2.1.3 `transport`):
 * `transportUri` identifies it, `refreshInterval` is in seconds, `transportData` is flat
 * (string values only: §6.1.1 "MUST NOT contain structured data").
 */
export interface CcTransport {
  transport: Transport;
  transportUri: string;
  refreshInterval: number;
  transportData: Record<string, string>;
}

/**
 * A subscription named topics that are malformed, unknown, or not readable by the user
 * (draft §5.2.3.2: the whole request fails and the answer lists them; the `invalid-topics`
 * precondition of §6.2.2). Answered 403: DAV:error with `invalid-topics` for XML, problem+json
 * with the draft's JSON error member (§6.1.2 `{"error": {"invalid-topics": [...]}}`) otherwise.
 */
export class InvalidTopicsError extends DomainError {
  readonly kind = 'precondition' as const;
  readonly precondition = 'invalid-topics' as const;
  constructor(
    readonly topics: readonly string[],
    message: string,
  ) {
    super(message);
  }
}
