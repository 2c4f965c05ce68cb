import { assertPushClientId } from './push-client-id';
import { PreconditionFailedError, ValidationError } from './errors';
import type { Subscription, Transport } from './subscription';
import { clampDepth, parseDepth, SUPPORTED_TRIGGERS, type Trigger } from './trigger';

/**
 * A registration request as the client sent it, before any judgement: every value is the raw text.
 * Both front doors produce this shape: the WebDAV-Push `push-register` XML codec and the JSON DTO.
 */
export interface RegistrationRequest {
  /** Absent when the document had no (recognisable) subscription. */
  subscription?: RawWebPushSubscription | RawFcmSubscription | { type: 'unknown' };
  /** Absent when the document had no `trigger` element (DAVx5 sends none). */
  trigger?: RawTrigger;
  expires?: string;
  /**
   * CC/CD 70025 `Push-Client-Id` of the subscribing client (validated token, docs/cc70025.md): a
   * change event naming it in `client-id` skips this registration.
   */
  clientId?: string;
}

export interface RawWebPushSubscription {
  type: 'web-push';
  pushResource?: string;
  contentEncoding?: string;
  publicKey?: string;
  /** The `type` attribute of `subscription-public-key`; only `p256dh` is defined. */
  publicKeyType?: string;
  authSecret?: string;
}

export interface RawFcmSubscription {
  type: 'fcm';
  token?: string;
}

export interface RawTrigger {
  contentUpdate?: { depth?: string };
  propertyUpdate?: { depth?: string; props?: string[] };
}

/** A stored registration. Times are epoch milliseconds. */
export interface Registration {
  id: string;
  tenantId: string;
  topic: string;
  subscription: Subscription;
  trigger: Trigger;
  expiresAt: number;
  createdAt: number;
  updatedAt: number;
  principal?: string;
  /** CC/CD 70025 client id (see {@link RegistrationRequest.clientId}). */
  clientId?: string;
  lastSuccessAt?: number;
  consecutiveFailures: number;
}

export const transportOf = (r: Pick<Registration, 'subscription'>): Transport => r.subscription.type;

export interface RegistrationPolicy {
  now: number;
  /** Longest lifetime granted, seconds (DAVPUSH_MAX_EXPIRY). */
  maxExpirySeconds: number;
  /** Transports this installation can deliver to. */
  transports: readonly Transport[];
  /** `http:` push resources are only acceptable where private endpoints are allowed (tests, LAN). */
  allowHttp: boolean;
}

export interface ValidRegistration {
  subscription: Subscription;
  trigger: Trigger;
  expiresAt: number;
  clientId?: string;
}

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;
const MAX_PUSH_RESOURCE_LENGTH = 2048;
const MAX_FCM_TOKEN_LENGTH = 4096;

function decodeB64url(value: string | undefined): Buffer | undefined {
  const v = value?.trim();
  if (!v || !B64URL.test(v)) return undefined;
  return Buffer.from(v.replace(/=+$/, ''), 'base64url');
}

const invalid = (why: string) => new PreconditionFailedError('invalid-subscription', why);

function validateSubscription(raw: RegistrationRequest['subscription'], policy: RegistrationPolicy): Subscription {
  if (!raw || raw.type === 'unknown') throw invalid('a subscription with a supported transport is required');
  if (!policy.transports.includes(raw.type)) {
    throw new PreconditionFailedError('push-not-available', `transport ${raw.type} is not configured on this server`);
  }
  if (raw.type === 'fcm') {
    const token = raw.token?.trim();
    if (!token) throw invalid('fcm token is missing');
    if (token.length > MAX_FCM_TOKEN_LENGTH || /[\s\u0000-\u001f]/.test(token)) throw invalid('fcm token is malformed');
    return { type: 'fcm', token };
  }
  const resource = raw.pushResource?.trim();
  if (!resource) throw invalid('push-resource is missing');
  if (resource.length > MAX_PUSH_RESOURCE_LENGTH) throw invalid('push-resource is too long');
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw invalid('push-resource must be an absolute URL');
  }
  const httpOk = policy.allowHttp && url.protocol === 'http:';
  if (url.protocol !== 'https:' && !httpOk) throw invalid('push-resource must be an https URL');
  if (url.username || url.password) throw invalid('push-resource must not carry credentials');
  if (url.hash) throw invalid('push-resource must not carry a fragment');
  const encoding = raw.contentEncoding?.trim().toLowerCase() || 'aes128gcm';
  if (encoding !== 'aes128gcm') throw invalid(`content-encoding ${encoding} is not supported (only aes128gcm)`);
  if (raw.publicKeyType !== undefined && raw.publicKeyType.trim().toLowerCase() !== 'p256dh') {
    throw invalid('subscription-public-key type must be p256dh');
  }
  const key = decodeB64url(raw.publicKey);
  if (!key || key.length !== 65 || key[0] !== 0x04) {
    throw invalid('subscription-public-key must be an uncompressed P-256 point (65 bytes, base64url)');
  }
  const auth = decodeB64url(raw.authSecret);
  if (!auth || auth.length !== 16) throw invalid('auth-secret must be 16 bytes, base64url');
  return {
    type: 'web-push',
    pushResource: url.href,
    publicKey: key.toString('base64url'),
    authSecret: auth.toString('base64url'),
    contentEncoding: 'aes128gcm',
  };
}

function depthOrDefault(value: string | undefined, fallback: '0' | '1'): ReturnType<typeof parseDepth> {
  if (value === undefined || value.trim() === '') return fallback;
  const depth = parseDepth(value);
  if (!depth) throw new ValidationError(`depth must be 0, 1 or infinity, not ${JSON.stringify(value.slice(0, 32))}`);
  return depth;
}

/**
 * Trigger leniency (draft "relaxed processing" + DAVx5 compatibility, reference §9 items 14-16):
 * no `trigger` at all means content-update depth 1; over-deep depths are lowered; an empty trigger
 * (or one naming only what we do not support) is `no-supported-trigger`.
 */
function validateTrigger(raw: RawTrigger | undefined): Trigger {
  if (!raw) return { contentUpdate: { depth: '1' } };
  const trigger: Trigger = {};
  if (raw.contentUpdate) {
    const depth = depthOrDefault(raw.contentUpdate.depth, '1')!;
    trigger.contentUpdate = { depth: clampDepth(depth, SUPPORTED_TRIGGERS.contentUpdate.depth) };
  }
  if (raw.propertyUpdate) {
    const depth = depthOrDefault(raw.propertyUpdate.depth, '0')!;
    const props = (raw.propertyUpdate.props ?? []).filter((p) => p.length > 0 && p.length <= 512).slice(0, 64);
    trigger.propertyUpdate = { depth: clampDepth(depth, SUPPORTED_TRIGGERS.propertyUpdate.depth), props };
  }
  if (!trigger.contentUpdate && !trigger.propertyUpdate) {
    throw new PreconditionFailedError('no-supported-trigger', 'the trigger names no supported trigger type');
  }
  return trigger;
}

/** RFC 3339 or IMF-fixdate (RFC 9110 §5.6.7); both parse with Date. */
export function parseExpires(value: string): number | undefined {
  const v = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) &&
      !/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) {
    return undefined;
  }
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Granted expiry: the requested time when it lies within (now, now + max]; later requests are clamped
 * to the maximum; absent or past requests get the maximum (reference §9 item 7).
 */
export function grantExpiry(requested: string | undefined, policy: Pick<RegistrationPolicy, 'now' | 'maxExpirySeconds'>): number {
  // HTTP dates have second precision: grant only what the Expires header can say.
  const max = Math.floor((policy.now + policy.maxExpirySeconds * 1000) / 1000) * 1000;
  if (requested === undefined || requested.trim() === '') return max;
  const t = parseExpires(requested);
  if (t === undefined) throw new ValidationError('expires must be an IMF-fixdate or RFC 3339 timestamp');
  if (t <= policy.now) return max;
  return Math.min(Math.floor(t / 1000) * 1000, max);
}

export function validateRegistrationRequest(req: RegistrationRequest, policy: RegistrationPolicy): ValidRegistration {
  const subscription = validateSubscription(req.subscription, policy);
  const trigger = validateTrigger(req.trigger);
  const expiresAt = grantExpiry(req.expires, policy);
  return req.clientId === undefined ? { subscription, trigger, expiresAt } : { subscription, trigger, expiresAt, clientId: assertPushClientId(req.clientId) };
}
