import { describe, expect, it } from 'vitest';
import {
  InvalidTopicsError,
  judgeCcExpiry,
  normalizeTransportUri,
  parseClientData,
  urgencyForPriority,
} from './cc70025';
import { parseRfc3339 } from './rfc3339';
import { PreconditionFailedError, ValidationError } from './errors';
import { assertPushClientId, clientSkipEntry } from './push-client-id';

const P256DH = 'BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4';
const AUTH = 'BTBZMqHH6r4Tts7J_aSIgg';
const ENDPOINT = 'https://push.example.net/yohd4yai5Phiz1wi';

describe('urgencyForPriority (draft §6.1.3 priority 0..100 → RFC 8030 Urgency)', () => {
  it.each([
    [0, 'very-low'],
    [24, 'very-low'],
    [25, 'low'],
    [49, 'low'],
    [50, 'normal'],
    [74, 'normal'],
    [75, 'high'],
    [100, 'high'],
  ])('%i → %s', (priority, urgency) => {
    expect(urgencyForPriority(priority)).toBe(urgency);
  });

  it.each([-1, 101, 50.5, Number.NaN])('refuses %s', (priority) => {
    expect(() => urgencyForPriority(priority)).toThrow(ValidationError);
  });
});

describe('judgeCcExpiry (draft §5.2.2 unsubscribe, §6.2.1.6 refresh-interval)', () => {
  const now = Date.parse('2017-10-01T12:00:00Z');
  const refresh = 172800;
  it.each([
    [
      'the example date, inside the interval',
      '2017-10-02T12:00:00Z',
      { kind: 'subscribe', expiresAt: Date.parse('2017-10-02T12:00:00Z') },
    ],
    [
      'exactly now + refresh-interval',
      '2017-10-03T12:00:00Z',
      { kind: 'subscribe', expiresAt: Date.parse('2017-10-03T12:00:00Z') },
    ],
    [
      'a little past it (clock skew): shortened',
      '2017-10-03T12:00:30Z',
      { kind: 'subscribe', expiresAt: Date.parse('2017-10-03T12:00:00Z') },
    ],
    [
      'an offset instead of Z',
      '2017-10-02T14:00:00+02:00',
      { kind: 'subscribe', expiresAt: Date.parse('2017-10-02T12:00:00Z') },
    ],
    [
      'lower-case t and z, fractions',
      '2017-10-02t12:00:00.250z',
      { kind: 'subscribe', expiresAt: Date.parse('2017-10-02T12:00:00Z') },
    ],
    ['now: unsubscribe', '2017-10-01T12:00:00Z', { kind: 'unsubscribe' }],
    ['the past: unsubscribe', '2017-01-01T00:00:00Z', { kind: 'unsubscribe' }],
  ])('%s', (_what, expires, expected) => {
    expect(judgeCcExpiry(expires, now, refresh)).toEqual(expected);
  });

  it.each([
    ['beyond the refresh-interval', '2017-10-07T12:00:00Z', /refresh-interval of 172800/],
    ['an IMF-fixdate (WebDAV-Push form, not this surface)', 'Sat, 07 Oct 2017 12:00:00 GMT', /RFC 3339/],
    ['a date only', '2017-10-07', /RFC 3339/],
    ['a number', 1507377600, /RFC 3339/],
    ['missing', undefined, /RFC 3339/],
    ['an impossible date', '2017-13-45T12:00:00Z', /RFC 3339/],
  ])('refuses %s', (_what, expires, message) => {
    expect(() => judgeCcExpiry(expires, now, refresh)).toThrow(message);
  });

  it('parses RFC 3339 only', () => {
    expect(parseRfc3339('2017-10-01T14:00:52Z')).toBe(Date.parse('2017-10-01T14:00:52Z'));
    expect(parseRfc3339('2017-10-01 14:00:52Z')).toBeUndefined();
  });
});

describe('parseClientData (davpush client-data per transport, docs/cc70025.md)', () => {
  const wp = (o: object) => JSON.stringify(o);
  it.each([
    [
      'web-push: PushSubscription.toJSON()',
      'web-push',
      wp({ endpoint: ENDPOINT, expirationTime: null, keys: { p256dh: P256DH, auth: AUTH } }),
      {
        subscription: {
          type: 'web-push',
          pushResource: ENDPOINT,
          publicKey: P256DH,
          authSecret: AUTH,
          contentEncoding: undefined,
        },
        clientId: undefined,
      },
    ],
    [
      'web-push with client-id and content encoding',
      'web-push',
      wp({ endpoint: ENDPOINT, keys: { p256dh: P256DH, auth: AUTH }, contentEncoding: 'aes128gcm', 'client-id': 'c1' }),
      {
        subscription: {
          type: 'web-push',
          pushResource: ENDPOINT,
          publicKey: P256DH,
          authSecret: AUTH,
          contentEncoding: 'aes128gcm',
        },
        clientId: 'c1',
      },
    ],
    [
      'web-push with clientId',
      'web-push',
      wp({ endpoint: ENDPOINT, keys: { p256dh: P256DH, auth: AUTH }, clientId: 'c2' }),
      { clientId: 'c2' },
    ],
    [
      'web-push with members davpush does not know (a newer PushSubscription.toJSON(), a vendor): ignored',
      'web-push',
      wp({ endpoint: ENDPOINT, keys: { p256dh: P256DH, auth: AUTH, x: '1' }, admin: true }),
      { subscription: { type: 'web-push', pushResource: ENDPOINT, publicKey: P256DH, authSecret: AUTH } },
    ],
    ['fcm: a bare token', 'fcm', ' fcm-token-1 ', { subscription: { type: 'fcm', token: 'fcm-token-1' } }],
    [
      'fcm: JSON with client-id',
      'fcm',
      wp({ token: 'fcm-token-2', 'client-id': 'c3' }),
      { subscription: { type: 'fcm', token: 'fcm-token-2' }, clientId: 'c3' },
    ],
  ] as const)('%s', (_what, transport, data, expected) => {
    expect(parseClientData(transport, data)).toMatchObject(expected);
  });

  it.each([
    ['not a string', 'web-push', { endpoint: ENDPOINT }, /must be a string/],
    ['empty', 'web-push', '  ', /empty/],
    ['the draft example XYZ', 'web-push', 'XYZ', /JSON text/],
    ['a JSON array', 'web-push', '[]', /JSON object/],
    ['no keys', 'web-push', wp({ endpoint: ENDPOINT }), /keys/],
    [
      'a number endpoint',
      'web-push',
      wp({ endpoint: 1, keys: { p256dh: P256DH, auth: AUTH } }),
      /endpoint must be a string/,
    ],
    [
      'a bad expirationTime',
      'web-push',
      wp({ endpoint: ENDPOINT, expirationTime: 'soon', keys: { p256dh: P256DH, auth: AUTH } }),
      /expirationTime/,
    ],
    ['two client ids', 'fcm', wp({ token: 't', 'client-id': 'a', clientId: 'b' }), /not both/],
    ['a client-id with spaces', 'fcm', wp({ token: 't', 'client-id': 'a b' }), /client-id/],
    ['fcm JSON without token', 'fcm', wp({ 'client-id': 'a' }), /needs a token/],
    ['too long', 'fcm', 'x'.repeat(9000), /exceeds/],
  ] as const)('refuses %s with invalid-subscription', (_what, transport, data, message) => {
    const run = () => parseClientData(transport, data);
    expect(run).toThrow(PreconditionFailedError);
    expect(run).toThrow(message);
  });
});

describe('client ids', () => {
  it('are RFC 7230 tokens, percent-encoding allowed', () => {
    expect(assertPushClientId('abc%20def-1.2_~')).toBe('abc%20def-1.2_~');
    for (const bad of ['', 'a b', 'a,b', 'ä', 'x'.repeat(257), 7])
      expect(() => assertPushClientId(bad)).toThrow(ValidationError);
  });

  it('never look like registration ids in dontNotify', () => {
    expect(clientSkipEntry('xyz')).toBe('client:xyz');
    expect(/^[A-Za-z0-9_-]+$/.test(clientSkipEntry('xyz'))).toBe(false);
  });

  it('invalid-topics carries the topics', () => {
    const e = new InvalidTopicsError(['a', 'b'], 'why');
    expect([e.kind, e.precondition, e.topics]).toEqual(['precondition', 'invalid-topics', ['a', 'b']]);
  });
});

describe('normalizeTransportUri (RFC 3986 §6.2.2, §6.2.3)', () => {
  const ours = 'https://push.example.com/v1/gateway/transports/web-push';
  it.each([
    ['itself', ours],
    ['a trailing slash', `${ours}/`],
    ['upper-case scheme and host', 'HTTPS://PUSH.Example.COM/v1/gateway/transports/web-push'],
    ['the default port', 'https://push.example.com:443/v1/gateway/transports/web-push'],
    ['dot segments', 'https://push.example.com/v1/./gateway/x/../transports/web-push'],
  ])('reads %s as ours', (_what, uri) => {
    expect(normalizeTransportUri(uri)).toBe(normalizeTransportUri(ours));
  });
  it.each([
    ['another port', 'https://push.example.com:8443/v1/gateway/transports/web-push'],
    ['http', 'http://push.example.com/v1/gateway/transports/web-push'],
    ['a path in another case', 'https://push.example.com/v1/gateway/transports/Web-Push'],
  ])('keeps %s apart', (_what, uri) => {
    expect(normalizeTransportUri(uri)).not.toBe(normalizeTransportUri(ours));
  });
  it('is undefined for a short name or a relative reference', () => {
    expect(normalizeTransportUri('web-push')).toBeUndefined();
    expect(normalizeTransportUri('/v1/gateway')).toBeUndefined();
  });
});
