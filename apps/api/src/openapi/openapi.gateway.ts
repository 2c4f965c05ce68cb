import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';
import { Messages, MessagesObject, PushSubscribe, PushTransports } from '../gateway/gateway-request.dto';
import { JsonAnswer, Operation, PRINCIPAL_HEADER, Problem, ref } from './openapi.decorators';

/**
 * The OpenAPI description of the CalConnect CC/CD 70025 gateway (draft-gajda-dav-push-00;
 * docs/cc70025.md): its component schemas (requests from the zod schemas the gateway validates
 * with) and the decorators of its two operations.
 */
const fromZod = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;

const WEB_PUSH_CLIENT_DATA = JSON.stringify({
  endpoint: 'https://push.example.net/yohd4yai5Phiz1wi',
  expirationTime: null,
  keys: {
    p256dh: 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4',
    auth: 'BTBZMqHH6r4Tts7J_aSIgg',
  },
  'client-id': 'c-7f3a9',
});

const SUBSCRIBE_XML = `<P:subscribe xmlns:P="urn:ietf:params:xml:ns:dav-push">
  <P:topic>123</P:topic>
  <P:topic>abc</P:topic>
  <P:selected-transport>
    <P:transport-uri>https://davpush.example/v1/gateway/transports/fcm</P:transport-uri>
    <P:client-data>fcm-registration-token</P:client-data>
  </P:selected-transport>
  <P:expires>2017-10-07T12:00:00Z</P:expires>
</P:subscribe>`;

export const gatewaySchemas: Record<string, unknown> = {
  GatewayRequest: {
    oneOf: [
      { type: 'object', required: ['push-transports'], properties: { 'push-transports': fromZod(PushTransports) } },
      { type: 'object', required: ['push-subscribe'], properties: { 'push-subscribe': fromZod(PushSubscribe) } },
      {
        type: 'object',
        required: ['push'],
        properties: { push: { oneOf: [fromZod(Messages), fromZod(MessagesObject)] } },
      },
    ],
  },
  GatewayResponse: {
    oneOf: [
      {
        type: 'object',
        description: 'bootstrap',
        properties: {
          'push-transports': {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                transport: {
                  type: 'object',
                  properties: {
                    'transport-uri': { type: 'string' },
                    'refresh-interval': { type: 'integer', description: 'seconds' },
                    'transport-data': {
                      type: 'object',
                      additionalProperties: { type: 'string' },
                      description: 'web-push: vapid-public-key; fcm: project-id',
                    },
                  },
                },
              },
            },
          },
        },
      },
      { type: 'object', description: 'push-subscribe', properties: { 'push-url': { type: 'string', format: 'uri' } } },
      {
        type: 'object',
        description: 'push',
        properties: {
          'push-response': {
            type: 'object',
            properties: {
              'no-subscribers': {
                type: 'array',
                minItems: 1,
                items: { type: 'object', properties: { topic: { type: 'string' } } },
              },
            },
          },
        },
      },
    ],
  },
};

/** `POST /v1/gateway`: the three requests of the application server (bootstrap, push-subscribe, push). */
export const GatewayRequestDoc = () =>
  applyDecorators(
    Operation(
      'CalConnect CC/CD 70025 Push Gateway: bootstrap, push-subscribe, push (one per request)',
      [
        {
          name: 'Push-Client-Id',
          maxLength: 256,
          description: "push-subscribe: the subscribing client's id, when client-data carries none",
        },
        {
          name: 'X-Davpush-Readable-Topics',
          description:
            'push-subscribe: quoted-strings, the topics the user may read; without it, any well-formed topic',
        },
      ],
      {
        description:
          'Bootstrap `{"push-transports": []}` → the transports; `{"push-subscribe": {topics, selected-transport|transport: {transport-uri, client-data}, expires}}` → `{"push-url"}` ' +
          '(expires beyond refresh-interval → 400; in the past → unsubscribe); `{"push": {"messages": [...]}}` or `{"push": [...]}` → `{"push-response": {}}` or with `no-subscribers`. ' +
          'priority 0–24 very-low, 25–49 low, 50–74 normal (default 50), 75–100 high (Web Push Urgency; FCM android.priority high only for high). ' +
          'Unknown members are ignored; a message with a topic no subscription can have is listed in no-subscribers, the others are delivered. See docs/cc70025.md.',
      },
    ),
    ApiBody({
      required: true,
      schema: ref('GatewayRequest'),
      examples: {
        bootstrap: { value: { 'push-transports': [] } },
        subscribeWebPush: {
          value: {
            'push-subscribe': {
              topics: ['123', 'abc'],
              'selected-transport': {
                'transport-uri': 'https://davpush.example/v1/gateway/transports/web-push',
                'client-data': WEB_PUSH_CLIENT_DATA,
              },
              expires: '2017-10-07T12:00:00Z',
            },
          },
        },
        subscribeFcm: {
          value: {
            'push-subscribe': {
              topics: ['123'],
              transport: {
                'transport-uri': 'https://davpush.example/v1/gateway/transports/fcm',
                'client-data': 'fcm-registration-token',
              },
              expires: '2017-10-07T12:00:00Z',
            },
          },
        },
        push: {
          value: {
            push: {
              messages: [
                { topic: '123', priority: 100, timestamp: '2017-10-01T14:00:52Z', 'client-id': 'xyz' },
                { topic: 'abc', priority: 0, timestamp: '2017-10-01T14:00:53Z' },
              ],
            },
          },
        },
      },
    }),
    JsonAnswer(200, 'the answer of the request made', ref('GatewayResponse')),
    Problem(
      400,
      'malformed body: not one of the three requests, wrong types, unknown members, sizes; an expires beyond the refresh-interval',
    ),
    Problem(
      403,
      'precondition: invalid-topics (with "error": {"invalid-topics": [...]}), invalid-subscription (client-data), push-not-available (transport-uri)',
    ),
    Problem(413, 'body over 1 MiB, or more messages than the ingest burst allows'),
    Problem(415, 'not JSON'),
    Problem(429, 'ingest rate limit, as for /v1/events'),
  );

/** `POST /v1/gateway/subscribe`: a client's subscribe XML, relayed by the calendar server. */
export const GatewaySubscribeDoc = () =>
  applyDecorators(
    Operation(
      "A client's CC/CD 70025 subscribe XML, forwarded by the calendar server; all or nothing",
      [
        {
          name: 'X-Davpush-Readable-Topics',
          description: 'quoted-strings: the topics the user may read; without it, topics must be known to davpush',
        },
        { name: 'Push-Client-Id', maxLength: 256, description: "the client's id, when client-data carries none" },
        { ...PRINCIPAL_HEADER, description: "binds the registrations to the calendar server's user" },
      ],
      {
        requestBody: {
          required: true,
          content: { 'application/xml': { schema: { type: 'string' }, example: SUBSCRIBE_XML } },
        },
      },
    ),
    ApiResponse({
      status: 204,
      description: 'subscribed (Expires: the granted expiry, IMF-fixdate) or unsubscribed (a past expires)',
    }),
    ApiResponse({ status: 400, description: 'malformed document (DAV:error)' }),
    ApiResponse({
      status: 403,
      description:
        'DAV:error with invalid-topics listing the refused topics, or invalid-subscription / push-not-available',
    }),
    ApiResponse({ status: 413, description: 'body over 16 KiB' }),
    ApiResponse({ status: 415, description: 'not XML' }),
  );
