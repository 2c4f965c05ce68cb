import { gatewayPaths, gatewaySchemas } from './openapi.gateway';
import { FCM_REGISTER_EXAMPLE, PUSH_REGISTER_EXAMPLE, REGISTRATION_JSON_EXAMPLES, schemas } from './openapi.schemas';

type Op = Record<string, unknown>;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, example?: unknown) => ({ 'application/json': { schema, ...(example === undefined ? {} : { example }) } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });
const admin = [{ admin: [] }];
const tenant = [{ tenant: [] }];
const common = { 401: problem('missing or wrong credentials'), 503: problem('storage (Redis) unavailable: nothing was accepted; retry after Retry-After') };

/**
 * The OpenAPI 3.1 description of every HTTP endpoint (README "HTTP API"). Request bodies reuse the zod
 * schemas the controllers validate with; a test compares these paths with the routes the app
 * actually serves, so an endpoint cannot be added without being described here.
 */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, Op>> = {
    '/v1/tenants': {
      post: { tags: ['tenants'], summary: 'Create a tenant (one calendar server); the API key is shown once', security: admin,
        requestBody: { required: true, content: json({ type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 200 } } }, { name: 'cal.example.org' }) },
        responses: { 201: { description: 'created', content: json(ref('NewTenant')) }, 400: problem('bad name'), ...common } },
      get: { tags: ['tenants'], summary: 'List tenants', security: admin, responses: { 200: { description: 'tenants', content: json({ type: 'array', items: ref('Tenant') }) }, ...common } },
    },
    '/v1/tenants/{id}': {
      get: { tags: ['tenants'], summary: 'Read a tenant', security: admin, parameters: [pathParam('id')], responses: { 200: { description: 'tenant', content: json(ref('Tenant')) }, 404: problem('no such tenant'), ...common } },
      delete: { tags: ['tenants'], summary: "Revoke a tenant, then remove its registrations and the tenant itself", security: admin, parameters: [pathParam('id')],
        responses: { 200: { description: '{"id", "registrationsRemoved"}' }, 404: problem('no such tenant'), ...common } },
    },
    '/v1/tenants/{id}/rotate-key': {
      post: { tags: ['tenants'], summary: 'Issue a new API key; the old one stops working at once', security: admin, parameters: [pathParam('id')],
        responses: { 200: { description: 'the new key, shown once', content: json({ type: 'object', properties: { id: { type: 'string' }, apiKey: { type: 'string' } } }) }, 404: problem('no such tenant'), 409: problem('the tenant is revoked'), ...common } },
    },
    '/v1/tenants/{id}/revoke': {
      post: { tags: ['tenants'], summary: "Disable a tenant for good: its key stops working, its data is kept for an admin to delete", security: admin, parameters: [pathParam('id')],
        responses: { 200: { description: 'the revoked tenant', content: json(ref('Tenant')) }, 404: problem('no such tenant'), ...common } },
    },
    '/v1/discovery': {
      get: { tags: ['discovery'], summary: 'WebDAV-Push properties for a PROPFIND answer: transports (VAPID key), topic, supported-triggers', security: tenant,
        parameters: [
          { name: 'topic', in: 'query', required: true, schema: { type: 'string', maxLength: 512 }, example: 'cal-1' },
          { name: 'dialect', in: 'query', required: false, schema: { type: 'string', enum: ['webdav-push', 'cc70025'] }, description: 'cc70025: the CalConnect CC/CD 70025 properties (docs/cc70025.md)' },
          { name: 'subscribeUrl', in: 'query', required: false, schema: { type: 'string', format: 'uri' }, description: 'cc70025 (required there): the calendar server\'s own URL where clients POST their subscribe; it relays the body to POST /v1/gateway/subscribe' },
        ],
        responses: { 200: { description: 'discovery', content: json(ref('Discovery')) }, 400: problem('topic missing or invalid'), ...common } },
    },
    '/v1/topics/{topic}/registrations': {
      post: { tags: ['registrations'], summary: "Register a client's push subscription for a topic (WebDAV-Push push-register XML as the client sent it, or JSON)", security: tenant,
        parameters: [pathParam('topic'), { name: 'X-Davpush-Principal', in: 'header', required: false, schema: { type: 'string', maxLength: 256 }, description: "binds the registration to the calendar server's user" },
          { name: 'Push-Client-Id', in: 'header', required: false, schema: { type: 'string', maxLength: 256 }, description: 'CC/CD 70025: the registering client; a push naming it in client-id skips this registration' }],
        requestBody: { required: true, content: {
          'application/xml': { schema: { type: 'string' }, examples: { webPush: { value: PUSH_REGISTER_EXAMPLE }, fcm: { value: FCM_REGISTER_EXAMPLE } } },
          'application/json': { schema: ref('RegistrationJson'), examples: REGISTRATION_JSON_EXAMPLES },
        } },
        responses: {
          201: { description: 'registered', headers: regHeaders() },
          204: { description: 'the same subscription for this topic was updated', headers: regHeaders() },
          400: problem('malformed body (for XML requests: a DAV:error document); for JSON the detail names the field, in the JSON names, and shows the accepted shapes'),
          403: problem('precondition: invalid-subscription, no-supported-trigger or push-not-available (also when a registration limit per topic or principal is reached: type registration-limit)'),
          413: problem('body over 16 KiB'), 415: problem('neither XML nor JSON, or a charset other than UTF-8'), ...common,
        } },
    },
    '/v1/registrations/{id}': {
      get: { tags: ['registrations'], summary: 'Read a registration', security: tenant, parameters: [pathParam('id')], responses: { 200: { description: 'registration', content: json(ref('Registration')) }, 404: problem('unknown, expired or not yours'), ...common } },
      delete: { tags: ['registrations'], summary: 'Remove a registration (the URL is the capability; a tenant key is accepted too)', parameters: [pathParam('id')], responses: { 204: { description: 'removed' }, 404: problem('unknown or expired') } },
    },
    '/v1/events': {
      post: { tags: ['events'], summary: 'Collection(s) changed: answered 202 once durably queued', security: tenant,
        parameters: [
          { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 }, description: 'a repeat within 24 h returns the first answer and queues nothing' },
          { name: 'Push-Client-Id', in: 'header', required: false, schema: { type: 'string', maxLength: 256 }, description: 'CC/CD 70025: the client that caused the changes; its registrations are not notified' },
        ],
        requestBody: { required: true, content: json(ref('ChangeEvents'), { topic: 'cal-1', changes: ['content'], syncToken: 'http://cal.example.org/sync/42' }) },
        responses: {
          202: { description: 'queued', content: json(ref('Accepted')), headers: rateLimitHeaders() },
          400: problem('invalid event, or an Idempotency-Key reused with another body'),
          409: problem('same Idempotency-Key still in flight'),
          413: problem('body over 1 MiB, or more events than the ingest burst allows'),
          415: problem('not JSON'),
          429: { ...problem('ingest rate limit (token bucket per tenant, DAVPUSH_INGEST_RATE events/s, burst 2×); nothing was queued'), headers: { ...rateLimitHeaders(), 'Retry-After': { schema: { type: 'integer' } } } },
          ...common,
        } },
    },
    '/v1/events/{id}': {
      get: { tags: ['events'], summary: 'Event status and delivery counts', security: tenant, parameters: [pathParam('id')], responses: { 200: { description: 'status', content: json(ref('EventStatus')) }, 404: problem('unknown or not yours'), ...common } },
    },
    '/v1/admin/dlq': {
      get: { tags: ['admin'], summary: 'Dead letters with their reason', security: admin, parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } }], responses: { 200: { description: 'dead letters' }, ...common } },
    },
    '/v1/admin/dlq/replay': {
      post: { tags: ['admin'], summary: 'Send dead letters again with a fresh TTL (all, or the ids given)', security: admin,
        requestBody: { required: false, content: json({ type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } }) }, responses: { 200: { description: '{"replayed", "missing"}' }, ...common } },
    },
    '/v1/admin/queues': { get: { tags: ['operations'], summary: 'Queue health as JSON: counts, oldest waiting age, completed/failed per minute', security: admin, responses: { 200: { description: 'queues' }, ...common } } },
    '/admin/queues': { get: { tags: ['operations'], summary: 'Queue dashboard (bull-board); admin token as Bearer or once as ?token=', security: admin, responses: { 200: { description: 'HTML' }, ...common } } },
    '/health/live': { get: { tags: ['operations'], summary: 'Liveness: the process only', responses: { 200: { description: 'up' } } } },
    '/health/ready': { get: { tags: ['operations'], summary: 'Readiness: Redis, queues, backlog, VAPID and FCM credentials', responses: { 200: { description: 'ok or degraded' }, 503: { description: 'down or shutting down' } } } },
    '/metrics': { get: { tags: ['operations'], summary: 'Prometheus metrics', responses: { 200: { description: 'text/plain; version=0.0.4' } } } },
    ...gatewayPaths,
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'davpush',
      version: '1',
      description: 'Push dispatch for CalDAV/CardDAV servers: WebDAV-Push discovery and registrations, change events, Web Push (RFC 8030/8291/8292) and FCM delivery.',
    },
    servers: [{ url: serverUrl }],
    components: {
      schemas: { ...schemas, ...gatewaySchemas },
      securitySchemes: {
        admin: { type: 'http', scheme: 'bearer', description: 'the admin token (DAVPUSH_ADMIN_TOKEN or .data/admin-token)' },
        tenant: { type: 'http', scheme: 'bearer', description: "a tenant's API key (dpk_…)" },
      },
    },
    paths,
  };
}

function pathParam(name: string) {
  return { name, in: 'path', required: true, schema: { type: 'string' } };
}

function rateLimitHeaders() {
  return Object.fromEntries(
    ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'].map((h) => [h, { schema: { type: 'integer' }, description: 'draft-ietf-httpapi-ratelimit-headers' }]),
  );
}

function regHeaders() {
  return {
    Location: { description: 'absolute registration URL (the capability for DELETE)', schema: { type: 'string', format: 'uri' } },
    Expires: { description: 'granted expiry, IMF-fixdate, clamped to DAVPUSH_MAX_EXPIRY', schema: { type: 'string' } },
  };
}
