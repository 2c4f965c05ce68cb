import { assertPushClientId } from './push-client-id';
import { decodeBase64Lenient, withoutAsciiWhitespace } from './base64';
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
  /**
   * How the client's document names each field, for error messages: the JSON front door says
   * `subscription.publicKey` or `keys.p256dh` where the XML one says `subscription-public-key`.
   * Absent: the WebDAV-Push element names ({@link XML_FIELD_NAMES}).
   */
  fieldNames?: Partial<RegistrationFieldNames>;
}

/** The name of each judged value in the document the client sent (see RegistrationRequest.fieldNames). */
export interface RegistrationFieldNames {
  subscription: string;
  pushResource: string;
  contentEncoding: string;
  publicKey: string;
  publicKeyType: string;
  authSecret: string;
  token: string;
  expires: string;
  contentUpdateDepth: string;
  propertyUpdateDepth: string;
}

/** The WebDAV-Push draft's element names (and davpush's `token` for FCM). */
const XML_FIELD_NAMES: RegistrationFieldNames = {
  subscription: 'subscription',
  pushResource: 'push-resource',
  contentEncoding: 'content-encoding',
  publicKey: 'subscription-public-key',
  publicKeyType: 'subscription-public-key type',
  authSecret: 'auth-secret',
  token: 'fcm token',
  expires: 'expires',
  contentUpdateDepth: 'content-update depth',
  propertyUpdateDepth: 'property-update depth',
};

export const fieldNamesOf = (req: Pick<RegistrationRequest, 'fieldNames'>): RegistrationFieldNames => ({
  ...XML_FIELD_NAMES,
  ...req.fieldNames,
});

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

const MAX_PUSH_RESOURCE_LENGTH = 2048;
const MAX_FCM_TOKEN_LENGTH = 4096;

const invalid = (why: string) => new PreconditionFailedError('invalid-subscription', why);

/**
 * Every encoded value is normalised here, once, for both front doors, and stored in one form:
 * keys and secrets as unpadded base64url whatever base64 the client wrote (see
 * {@link decodeBase64Lenient}), FCM tokens without the whitespace pretty-printing puts in.
 */
function validateSubscription(
  raw: RegistrationRequest['subscription'],
  policy: RegistrationPolicy,
  names: RegistrationFieldNames,
): Subscription {
  if (!raw || raw.type === 'unknown')
    throw invalid(`${names.subscription} is missing or names no supported transport (${policy.transports.join(', ')})`);
  if (!policy.transports.includes(raw.type)) {
    throw new PreconditionFailedError('push-not-available', `transport ${raw.type} is not configured on this server`);
  }
  if (raw.type === 'fcm') {
    // FCM registration tokens never contain whitespace (a line break is an XML pretty-printer's).
    const token = raw.token === undefined ? '' : withoutAsciiWhitespace(raw.token);
    if (!token) throw invalid(`${names.token} is missing`);
    if (token.length > MAX_FCM_TOKEN_LENGTH || /[\s\u0000-\u001f\u007f]/.test(token))
      throw invalid(`${names.token} is malformed`);
    return { type: 'fcm', token };
  }
  const resource = raw.pushResource?.trim();
  if (!resource) throw invalid(`${names.pushResource} is missing`);
  if (resource.length > MAX_PUSH_RESOURCE_LENGTH) throw invalid(`${names.pushResource} is too long`);
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw invalid(`${names.pushResource} must be an absolute URL`);
  }
  const httpOk = policy.allowHttp && url.protocol === 'http:';
  if (url.protocol !== 'https:' && !httpOk) throw invalid(`${names.pushResource} must be an https URL`);
  if (url.username || url.password) throw invalid(`${names.pushResource} must not carry credentials`);
  if (url.hash) throw invalid(`${names.pushResource} must not carry a fragment`);
  const encoding = raw.contentEncoding?.trim().toLowerCase() || 'aes128gcm';
  if (encoding !== 'aes128gcm') throw invalid(`${names.contentEncoding} ${encoding} is not supported (only aes128gcm)`);
  if (raw.publicKeyType !== undefined && raw.publicKeyType.trim().toLowerCase() !== 'p256dh') {
    throw invalid(`${names.publicKeyType} must be p256dh`);
  }
  if (raw.publicKey === undefined || raw.publicKey.trim() === '') throw invalid(`${names.publicKey} is missing`);
  const key = decodeBase64Lenient(raw.publicKey);
  if (!key || key.length !== 65 || key[0] !== 0x04) {
    throw invalid(`${names.publicKey} must be an uncompressed P-256 point (65 bytes) in base64url or base64`);
  }
  if (raw.authSecret === undefined || raw.authSecret.trim() === '') throw invalid(`${names.authSecret} is missing`);
  const auth = decodeBase64Lenient(raw.authSecret);
  if (!auth || auth.length !== 16) throw invalid(`${names.authSecret} must be 16 bytes in base64url or base64`);
  return {
    type: 'web-push',
    pushResource: url.href,
    publicKey: key.toString('base64url'),
    authSecret: auth.toString('base64url'),
    contentEncoding: 'aes128gcm',
  };
}

function depthOrDefault(value: string | undefined, fallback: '0' | '1', name: string): ReturnType<typeof parseDepth> {
  if (value === undefined || value.trim() === '') return fallback;
  const depth = parseDepth(value);
  if (!depth) throw new ValidationError(`${name} must be 0, 1 or infinity, not ${JSON.stringify(value.slice(0, 32))}`);
  return depth;
}

/**
 * Trigger leniency (draft "relaxed processing" + DAVx5 compatibility, README "HTTP API", registration errors):
 * no `trigger` at all means content-update depth 1; over-deep depths are lowered; an empty trigger
 * (or one naming only what we do not support) is `no-supported-trigger`.
 */
function validateTrigger(raw: RawTrigger | undefined, names: RegistrationFieldNames): Trigger {
  if (!raw) return { contentUpdate: { depth: '1' } };
  const trigger: Trigger = {};
  if (raw.contentUpdate) {
    const depth = depthOrDefault(raw.contentUpdate.depth, '1', names.contentUpdateDepth)!;
    trigger.contentUpdate = { depth: clampDepth(depth, SUPPORTED_TRIGGERS.contentUpdate.depth) };
  }
  if (raw.propertyUpdate) {
    const depth = depthOrDefault(raw.propertyUpdate.depth, '0', names.propertyUpdateDepth)!;
    const props = (raw.propertyUpdate.props ?? []).filter((p) => p.length > 0 && p.length <= 512).slice(0, 64);
    trigger.propertyUpdate = { depth: clampDepth(depth, SUPPORTED_TRIGGERS.propertyUpdate.depth), props };
  }
  if (!trigger.contentUpdate && !trigger.propertyUpdate) {
    throw new PreconditionFailedError('no-supported-trigger', 'the trigger names no supported trigger type');
  }
  return trigger;
}

/** RFC 3339 or IMF-fixdate (RFC 9110 §5.6.7); both parse with Date. */
function parseExpires(value: string): number | undefined {
  const v = value.trim();
  if (
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(v) &&
    !/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(
      v,
    )
  ) {
    return undefined;
  }
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * Granted expiry: the requested time when it lies within (now, now + max]; later requests are clamped
 * to the maximum; absent or past requests get the maximum (WebDAV-Push draft, "Subscription Registration": the server may shorten the requested expiry).
 */
export function grantExpiry(
  requested: string | undefined,
  policy: Pick<RegistrationPolicy, 'now' | 'maxExpirySeconds'>,
  name = 'expires',
): number {
  // HTTP dates have second precision: grant only what the Expires header can say.
  const max = Math.floor((policy.now + policy.maxExpirySeconds * 1000) / 1000) * 1000;
  if (requested === undefined || requested.trim() === '') return max;
  const t = parseExpires(requested);
  if (t === undefined) throw new ValidationError(`${name} must be an IMF-fixdate or RFC 3339 timestamp`);
  if (t <= policy.now) return max;
  return Math.min(Math.floor(t / 1000) * 1000, max);
}

export function validateRegistrationRequest(req: RegistrationRequest, policy: RegistrationPolicy): ValidRegistration {
  const names = fieldNamesOf(req);
  const subscription = validateSubscription(req.subscription, policy, names);
  const trigger = validateTrigger(req.trigger, names);
  const expiresAt = grantExpiry(req.expires, policy, names.expires);
  return req.clientId === undefined
    ? { subscription, trigger, expiresAt }
    : { subscription, trigger, expiresAt, clientId: assertPushClientId(req.clientId) };
}
