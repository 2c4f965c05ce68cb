import { describe, expect, it } from 'vitest';
import { ValidationError } from '@davpush/domain';
import { EXPECTED_REGISTRATION_JSON, toRegistrationRequest as sut } from './registration-request.dto';

const endpoint = 'https://push.example.net/p/1';
const keys = { p256dh: 'BKEY', auth: 'AUTH' };
const webPush = { type: 'web-push', pushResource: endpoint, publicKey: 'BKEY', authSecret: 'AUTH' } as const;

describe('toRegistrationRequest: the JSON shapes', () => {
  it.each<[string, unknown, object]>([
    [
      'davpush web-push form',
      { subscription: webPush },
      { subscription: { ...webPush, contentEncoding: undefined }, fieldNames: { publicKey: 'subscription.publicKey' } },
    ],
    [
      'davpush fcm form',
      { subscription: { type: 'fcm', token: 't' } },
      { subscription: { type: 'fcm', token: 't' }, fieldNames: { token: 'subscription.token' } },
    ],
    [
      'an unknown transport',
      { subscription: { type: 'apns' } },
      { subscription: { type: 'unknown' }, fieldNames: { subscription: 'subscription.type' } },
    ],
    [
      'PushSubscription.toJSON() alone',
      { endpoint, expirationTime: null, keys },
      {
        subscription: { type: 'web-push', pushResource: endpoint, publicKey: 'BKEY', authSecret: 'AUTH' },
        fieldNames: { publicKey: 'keys.p256dh', authSecret: 'keys.auth', pushResource: 'endpoint' },
      },
    ],
    [
      'PushSubscription.toJSON() as subscription',
      { subscription: { endpoint, keys }, expires: 'x' },
      { expires: 'x', fieldNames: { publicKey: 'subscription.keys.p256dh', pushResource: 'subscription.endpoint' } },
    ],
    [
      'the browser form labelled type web-push',
      { subscription: { type: 'web-push', endpoint, keys } },
      { subscription: { type: 'web-push', pushResource: endpoint } },
    ],
    [
      'expirationTime as the requested expiry',
      { endpoint, keys, expirationTime: Date.parse('2026-12-01T00:00:00Z') },
      { expires: '2026-12-01T00:00:00.000Z', fieldNames: { expires: 'expirationTime' } },
    ],
    [
      'expires wins over expirationTime',
      { endpoint, keys, expirationTime: 1, expires: 'Tue, 01 Dec 2026 00:00:00 GMT' },
      { expires: 'Tue, 01 Dec 2026 00:00:00 GMT' },
    ],
    [
      'an expirationTime past year 9999',
      { endpoint, keys, expirationTime: 8.64e15 },
      { expires: '9999-12-31T23:59:59.000Z' },
    ],
    [
      'a trigger beside it, depths as numbers',
      { endpoint, keys, trigger: { contentUpdate: { depth: 1 } } },
      { trigger: { contentUpdate: { depth: '1' } }, fieldNames: { contentUpdateDepth: 'trigger.contentUpdate.depth' } },
    ],
  ])('%s', (_name, body, expected) => {
    expect(sut(body)).toMatchObject(expected);
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'the body is null, not an object'],
    ['a number', 42, 'the body is a number, not an object'],
    [
      'nothing to register',
      { trigger: {} },
      '"subscription" (or a browser subscription\'s "endpoint" and "keys") is missing',
    ],
    ['both forms', { subscription: webPush, keys }, 'not both'],
    ['a subscription array', { subscription: [] }, 'subscription must be an object'],
    ['a negative expirationTime', { endpoint, keys, expirationTime: -1 }, 'expirationTime:'],
    ['a trigger of the wrong type', { subscription: webPush, trigger: 'all' }, 'trigger:'],
  ])('refuses %s with a 400 that shows the expected shapes', (_name, body, says) => {
    let error: unknown;
    try {
      sut(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain(says);
    expect((error as Error).message).toContain(EXPECTED_REGISTRATION_JSON);
  });
});
