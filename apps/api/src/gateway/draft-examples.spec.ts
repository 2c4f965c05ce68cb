import { describe, expect, it } from 'vitest';
import type { CcTransport } from '@davpush/domain';
import { readGatewayRequest } from './gateway-request.dto';
import { bootstrapResponse, pushResponse, subscribeResponse } from './gateway-response';

/**
 * Every JSON example of draft-gajda-dav-push-00 (the XML ones are in libs/webdav-push/src/cc70025/),
 * text copied from the draft, repaired only where it is not JSON; each repair is said in its row.
 */
const SUBSCRIPTION = {
  topics: ['123', 'abc'],
  transportUri: 'https://push.example.com/transport',
  clientData: 'XYZ',
  expires: '2017-10-07T12:00:00Z',
};

describe('draft JSON requests, as the gateway reads them', () => {
  it.each([
    ['§5.1 bootstrap request', '{ "push-transports": []}', { kind: 'push-transports' }],
    [
      '§5.3 subscribe request (the example spells the transport member "transport")',
      `{
        "push-subscribe": {
          "topics": [ "123", "abc" ],
          "transport": {
            "transport-uri": "https://push.example.com/transport",
            "client-data": "XYZ"
          },
          "expires": "2017-10-07T12:00:00Z"
        }
      }`,
      { kind: 'push-subscribe', subscription: SUBSCRIPTION },
    ],
    [
      '§6.1.2 subscribe syntax (the member is "selected-transport")',
      '{"push-subscribe": {"topics": ["123", "abc"], "selected-transport": {"transport-uri": "https://push.example.com/transport", "client-data": "XYZ"}, "expires": "2017-10-07T12:00:00Z"}}',
      { kind: 'push-subscribe', subscription: SUBSCRIPTION },
    ],
    [
      '§5.4 push request (the example wraps the messages in "messages")',
      `{
        "push": {
          "messages" : [{
            "topic": "123",
            "priority": 100,
            "timestamp": "2017-10-01T14:00:52Z",
            "client-id": "xyz"
          }, {
            "topic": "abc",
            "priority": 0,
            "timestamp": "2017-10-01T14:00:53Z"
          }]
        }
      }`,
      {
        kind: 'push',
        messages: [
          { topic: '123', priority: 100, timestamp: '2017-10-01T14:00:52Z', clientId: 'xyz' },
          { topic: 'abc', priority: 0, timestamp: '2017-10-01T14:00:53Z', clientId: undefined },
        ],
      },
    ],
    [
      '§6.1.3 push syntax (the messages are the array itself; priority and client-id optional)',
      '{"push": [{"topic": "123", "timestamp": "2017-10-01T14:00:52Z"}]}',
      {
        kind: 'push',
        messages: [{ topic: '123', priority: undefined, timestamp: '2017-10-01T14:00:52Z', clientId: undefined }],
      },
    ],
  ])('%s', (_what, text, expected) => {
    expect(readGatewayRequest(JSON.parse(text) as Record<string, unknown>)).toEqual(expected);
  });
});

/** The draft's two bootstrap transports; their `transport-data` placeholder `{ ... }` read as `{}`. */
const DRAFT_TRANSPORTS: CcTransport[] = [
  {
    transport: 'web-push',
    transportUri: 'https://push.example.com/transport',
    refreshInterval: 172800,
    transportData: {},
  },
  {
    transport: 'fcm',
    transportUri: 'urn:uuid:01234567-0123-0123-0123-0123456789ab',
    refreshInterval: 172800,
    transportData: {},
  },
];

/** §5.1 bootstrap response as printed (CalConnect sources): `}{` between the entries, `{ ... }` placeholders. */
const BOOTSTRAP_AS_PRINTED = `{ "push-transports": [
  {
    "transport": {
      "transport-uri":
        "https://push.example.com/transport",
      "refresh-interval": 172800,
      "transport-data" : { ... }
    }
  }{
    "transport": {
      "transport-uri":
        "urn:uuid:01234567-0123-0123-0123-0123456789ab",
      "refresh-interval": 172800,
      "transport-data" : { ... }
    }
  }]
}`;

describe('draft JSON responses, as the gateway writes them', () => {
  it('§5.1 bootstrap response as printed is not JSON', () => {
    expect(() => JSON.parse(BOOTSTRAP_AS_PRINTED)).toThrow(SyntaxError);
  });

  it.each([
    [
      '§5.1 bootstrap response, repaired: `}{` → `},{` (as in the IETF text), `{ ... }` → `{}`',
      BOOTSTRAP_AS_PRINTED.replace('}{', '},{').replaceAll('{ ... }', '{}'),
      bootstrapResponse(DRAFT_TRANSPORTS),
    ],
    [
      '§5.3 subscribe response',
      '{ "push-url": "https://push.example.com/" }',
      subscribeResponse('https://push.example.com/'),
    ],
    ['§5.4 push response, every topic had subscribers', '{ "push-response": {} }', pushResponse([])],
    [
      '§5.4 push response with topics nobody is subscribed to',
      `{
        "push-response": {
              "no-subscribers": [
            { "topic": "123"}
          ]
        }
      }`,
      pushResponse(['123']),
    ],
  ])('%s', (_what, text, ours) => {
    expect(ours).toEqual(JSON.parse(text));
  });
});
