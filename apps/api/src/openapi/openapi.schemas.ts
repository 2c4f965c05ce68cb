import { z } from 'zod';
import { EventJson } from '@davpush/application';
import { RegistrationJson } from '../registrations/registration-request.dto';

/** Request schemas come from the zod schemas the controllers validate with: they cannot drift. */
const fromZod = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', format: 'uri', example: 'https://davpush.dev/problems/invalid-subscription' },
    title: { type: 'string', example: 'Forbidden' },
    status: { type: 'integer', example: 403 },
    detail: { type: 'string', example: 'push-resource must be an https URL' },
    precondition: {
      type: 'string',
      enum: ['invalid-subscription', 'no-supported-trigger', 'push-not-available', 'invalid-topics'],
    },
  },
};

export const schemas: Record<string, unknown> = {
  Problem: problem,
  RegistrationJson: fromZod(RegistrationJson),
  ChangeEvent: fromZod(EventJson),
  ChangeEvents: {
    oneOf: [
      { $ref: '#/components/schemas/ChangeEvent' },
      {
        type: 'object',
        required: ['events'],
        properties: { events: { type: 'array', maxItems: 1000, items: { $ref: '#/components/schemas/ChangeEvent' } } },
      },
    ],
  },
  Accepted: {
    type: 'object',
    properties: {
      events: {
        type: 'array',
        items: { type: 'object', properties: { id: { type: 'string' }, topic: { type: 'string' } } },
      },
      noSubscribers: { type: 'array', items: { type: 'string' } },
    },
    example: { events: [{ id: '4f1c2b7e-9d35-4a7b-8a0e-2f0d1b6c9e11', topic: 'cal-1' }], noSubscribers: [] },
  },
  EventStatus: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      topic: { type: 'string' },
      state: { type: 'string', enum: ['queued', 'coalesced', 'dispatching', 'done'] },
      deliveries: {
        type: 'object',
        properties: Object.fromEntries(
          ['pending', 'accepted', 'gone', 'failed', 'skipped'].map((k) => [k, { type: 'integer' }]),
        ),
      },
    },
    example: {
      id: 'evt-42',
      topic: 'cal-1',
      state: 'done',
      deliveries: { pending: 0, accepted: 2, gone: 0, failed: 0, skipped: 1 },
    },
  },
  Registration: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      topic: { type: 'string' },
      transport: { type: 'string', enum: ['web-push', 'fcm'] },
      expires: { type: 'string', format: 'date-time' },
      trigger: { type: 'object' },
      lastSuccessAt: { type: ['string', 'null'], format: 'date-time' },
      consecutiveFailures: { type: 'integer' },
    },
    example: {
      id: 'oWnOsDUF3BTjDJPudpOODg',
      topic: 'cal-1',
      transport: 'web-push',
      expires: '2026-11-28T12:00:00.000Z',
      trigger: { contentUpdate: { depth: '1' } },
      lastSuccessAt: null,
      consecutiveFailures: 0,
    },
  },
  Discovery: {
    type: 'object',
    properties: {
      vapidPublicKey: { type: 'string' },
      transports: { type: 'array', items: { type: 'string' } },
      fcmProjectId: { type: 'string' },
      supportedTriggers: { type: 'object' },
      properties: {
        type: 'object',
        properties: {
          transports: { type: 'string' },
          topic: { type: 'string' },
          supportedTriggers: { type: 'string' },
        },
      },
    },
  },
  Tenant: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      createdAt: { type: 'string', format: 'date-time' },
    },
  },
  NewTenant: {
    type: 'object',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      apiKey: { type: 'string', description: 'shown once; davpush stores only its SHA-256' },
    },
  },
};

export const PUSH_REGISTER_EXAMPLE = `<push-register xmlns="https://bitfire.at/webdav-push">
  <subscription>
    <web-push-subscription>
      <push-resource>https://push.example.net/yohd4yai5Phiz1wi</push-resource>
      <subscription-public-key type="p256dh">BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4</subscription-public-key>
      <auth-secret>BTBZMqHH6r4Tts7J_aSIgg</auth-secret>
    </web-push-subscription>
  </subscription>
  <trigger><content-update><depth xmlns="DAV:">1</depth></content-update></trigger>
  <expires>Wed, 25 Nov 2026 10:00:00 GMT</expires>
</push-register>`;

export const FCM_REGISTER_EXAMPLE = `<push-register xmlns="https://bitfire.at/webdav-push" xmlns:X="https://davpush.dev/ns">
  <subscription><X:fcm-subscription><X:token>fcm-registration-token</X:token></X:fcm-subscription></subscription>
</push-register>`;

const SAMPLE = {
  endpoint: 'https://push.example.net/yohd4yai5Phiz1wi',
  p256dh: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
  auth: 'BTBZMqHH6r4Tts7J_aSIgg',
};

/**
 * The accepted JSON registration shapes (apps/api/src/registrations/registration-request.dto.ts).
 * Keys may be base64url or standard base64, padded or not, with line breaks; stored as base64url.
 */
export const REGISTRATION_JSON_EXAMPLES = {
  davpush: {
    summary: 'davpush form (Web Push)',
    value: {
      subscription: {
        type: 'web-push',
        pushResource: SAMPLE.endpoint,
        publicKey: SAMPLE.p256dh,
        authSecret: SAMPLE.auth,
      },
      trigger: { contentUpdate: { depth: '1' } },
    },
  },
  fcm: { summary: 'davpush form (FCM)', value: { subscription: { type: 'fcm', token: 'fcm-registration-token' } } },
  browser: {
    summary: "a browser's PushSubscription.toJSON() as it is (expirationTime, when a number, bounds the registration)",
    value: { endpoint: SAMPLE.endpoint, expirationTime: null, keys: { p256dh: SAMPLE.p256dh, auth: SAMPLE.auth } },
  },
  browserWrapped: {
    summary: 'PushSubscription.toJSON() as "subscription", with trigger and expires',
    value: {
      subscription: {
        endpoint: SAMPLE.endpoint,
        expirationTime: null,
        keys: { p256dh: SAMPLE.p256dh, auth: SAMPLE.auth },
      },
      trigger: { contentUpdate: { depth: '1' }, propertyUpdate: { depth: '0', props: ['{DAV:}displayname'] } },
      expires: 'Wed, 25 Nov 2026 10:00:00 GMT',
    },
  },
};
