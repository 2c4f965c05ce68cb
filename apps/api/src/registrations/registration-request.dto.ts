import { z } from 'zod';
import { ValidationError, type RegistrationFieldNames, type RegistrationRequest } from '@davpush/domain';

const text = (max: number) => z.string().max(max);
const depth = z.union([z.string().max(16), z.number().int().min(0).max(1)]).transform(String);

const trigger = z
  .object({
    contentUpdate: z.object({ depth: depth.optional() }).optional(),
    propertyUpdate: z.object({ depth: depth.optional(), props: z.array(text(512)).max(64).optional() }).optional(),
  })
  .optional();

/** davpush's own subscription object: `{"type": "web-push", …}` or `{"type": "fcm", "token"}`. */
const DavpushSubscription = z.object({
  type: text(32),
  pushResource: text(4096).optional(),
  publicKey: text(512).optional(),
  authSecret: text(512).optional(),
  contentEncoding: text(64).optional(),
  token: text(8192).optional(),
});

/**
 * What a browser's `PushSubscription.toJSON()` returns (W3C Push API §"PushSubscriptionJSON"):
 * `expirationTime` is epoch milliseconds or null; `keys` are base64url (standard base64 is accepted
 * too, see decodeBase64Lenient in @davpush/domain). Other members are ignored.
 */
const BrowserSubscriptionFields = {
  type: z.literal('web-push').optional(),
  endpoint: text(4096).optional(),
  expirationTime: z.number().min(0).nullable().optional(),
  keys: z.object({ p256dh: text(512).optional(), auth: text(512).optional() }).optional(),
};
const BrowserSubscription = z.object(BrowserSubscriptionFields);

const common = { trigger, expires: text(64).optional() };

/**
 * The JSON front door. Three shapes: davpush's `{"subscription": {"type", …}, "trigger"?, "expires"?}`,
 * the same with a browser subscription as `subscription`, and a bare browser subscription (with
 * `trigger`/`expires` beside it if wanted). Types are checked here (400); whether the subscription is
 * usable is the domain's call (403 invalid-subscription), the same as for the XML form.
 * Also the OpenAPI request schema.
 */
export const RegistrationJson = z.union([
  z.object({ subscription: z.union([DavpushSubscription, BrowserSubscription]), ...common }),
  z.object({ ...BrowserSubscriptionFields, ...common }),
]);

/** Shown in every answer to a JSON body of the wrong shape. */
export const EXPECTED_REGISTRATION_JSON =
  'expected {"subscription": {"type": "web-push", "pushResource": "https://…", "publicKey": "<p256dh>", "authSecret": "<auth>"} ' +
  'or {"type": "fcm", "token": "…"}, "trigger"?: {"contentUpdate"?: {"depth"}, "propertyUpdate"?: {"depth", "props"?}}, "expires"?: "<date>"}, ' +
  'or a PushSubscription.toJSON() {"endpoint": "https://…", "expirationTime": null, "keys": {"p256dh": "…", "auth": "…"}}, ' +
  'alone or as "subscription"';

/** The names every JSON form shares (trigger and expires sit beside the subscription). */
const JSON_COMMON_NAMES: Partial<RegistrationFieldNames> = {
  contentUpdateDepth: 'trigger.contentUpdate.depth',
  propertyUpdateDepth: 'trigger.propertyUpdate.depth',
};

const shapeError = (why: string) => new ValidationError(`${why}; ${EXPECTED_REGISTRATION_JSON}`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The latest date an RFC 3339 timestamp can state; later expirationTimes mean "as long as allowed". */
const LAST_RFC3339_MS = Date.parse('9999-12-31T23:59:59Z');

function check<T extends z.ZodType>(schema: T, value: unknown, prefix: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${prefix}${i.path.join('.') || '(value)'}: ${i.message}`);
  throw shapeError(issues.join('; '));
}

function fromBrowser(
  s: z.infer<typeof BrowserSubscription>,
  prefix: string,
  rest: z.infer<z.ZodObject<typeof common>>,
): RegistrationRequest {
  const fieldNames: Partial<RegistrationFieldNames> = {
    ...JSON_COMMON_NAMES,
    subscription: prefix ? prefix.slice(0, -1) : 'endpoint',
    pushResource: `${prefix}endpoint`,
    publicKey: `${prefix}keys.p256dh`,
    authSecret: `${prefix}keys.auth`,
  };
  let expires = rest.expires;
  // The push subscription's own end is the latest the registration can be useful.
  if (expires === undefined && typeof s.expirationTime === 'number') {
    expires = new Date(Math.min(s.expirationTime, LAST_RFC3339_MS)).toISOString();
    fieldNames.expires = `${prefix}expirationTime`;
  }
  return {
    subscription: { type: 'web-push', pushResource: s.endpoint, publicKey: s.keys?.p256dh, authSecret: s.keys?.auth },
    trigger: rest.trigger,
    expires,
    fieldNames,
  };
}

/**
 * A parsed JSON body → the raw registration request, with the JSON field names for the domain's
 * messages. @throws ValidationError (400) naming the field and showing the expected shapes.
 */
export function toRegistrationRequest(body: unknown): RegistrationRequest {
  if (!isObject(body))
    throw shapeError(
      `the body is ${Array.isArray(body) ? 'an array' : typeof body === 'object' ? 'null' : `a ${typeof body}`}, not an object`,
    );
  const bare = body.endpoint !== undefined || body.keys !== undefined;
  if (body.subscription === undefined) {
    if (!bare) throw shapeError('"subscription" (or a browser subscription\'s "endpoint" and "keys") is missing');
    const parsed = check(z.object({ ...BrowserSubscriptionFields, ...common }), body, '');
    return fromBrowser(parsed, '', parsed);
  }
  if (bare) throw shapeError('give either "subscription" or "endpoint"/"keys", not both');
  const rest = check(z.object(common), { trigger: body.trigger, expires: body.expires }, '');
  const sub = body.subscription;
  if (!isObject(sub)) throw shapeError('subscription must be an object');
  // A browser subscription, possibly labelled with davpush's `"type": "web-push"`.
  const browserLike =
    (sub.type === undefined || sub.type === 'web-push') &&
    sub.pushResource === undefined &&
    (sub.endpoint !== undefined || sub.keys !== undefined);
  if (browserLike) {
    return fromBrowser(check(BrowserSubscription, sub, 'subscription.'), 'subscription.', rest);
  }
  if (sub.type === undefined) throw shapeError('subscription has neither "type" nor "endpoint"');
  const s = check(DavpushSubscription, sub, 'subscription.');
  const fieldNames: Partial<RegistrationFieldNames> = {
    ...JSON_COMMON_NAMES,
    subscription: 'subscription.type',
    pushResource: 'subscription.pushResource',
    contentEncoding: 'subscription.contentEncoding',
    publicKey: 'subscription.publicKey',
    authSecret: 'subscription.authSecret',
    token: 'subscription.token',
  };
  let subscription: RegistrationRequest['subscription'];
  if (s.type === 'web-push') {
    subscription = {
      type: 'web-push',
      pushResource: s.pushResource,
      publicKey: s.publicKey,
      authSecret: s.authSecret,
      contentEncoding: s.contentEncoding,
    };
  } else if (s.type === 'fcm') {
    subscription = { type: 'fcm', token: s.token };
  } else {
    subscription = { type: 'unknown' };
  }
  return { subscription, trigger: rest.trigger, expires: rest.expires, fieldNames };
}
