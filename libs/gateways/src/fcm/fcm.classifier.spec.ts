import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from '@davpush/domain';
import { classifyFcmError as sut } from './fcm.classifier';

/**
 * Shapes as firebase-admin produces them: 13.x errors carry `.code` only (real samples from the fake
 * FCM are in test/fcm/fcm-error-samples.spec.ts); 14.x adds `httpResponse {status, headers, data}`
 * with Google's error JSON, which lets an invalid token be told apart from another bad argument.
 */
const v13 = (code: string) => ({ code, message: 'text that must not matter' });

const FCM = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const google = (
  status: number,
  canonical: string,
  errorCode?: string,
  extra: unknown[] = [],
  headers: Record<string, string> = {},
) => ({
  code: 'messaging/whatever-the-sdk-says',
  httpResponse: {
    status,
    headers,
    data: {
      error: {
        code: status,
        status: canonical,
        message: 'x',
        details: [...(errorCode ? [{ '@type': FCM, errorCode }] : []), ...extra],
      },
    },
  },
});
const tokenViolation = {
  '@type': 'type.googleapis.com/google.rpc.BadRequest',
  fieldViolations: [{ field: 'message.token', description: 'x' }],
};
const ttlViolation = {
  '@type': 'type.googleapis.com/google.rpc.BadRequest',
  fieldViolations: [{ field: 'message.android.ttl', description: 'x' }],
};
const now = Date.parse('2026-11-21T12:00:00Z');

describe('classifyFcmError', () => {
  it.each<[string, unknown, DeliveryOutcome]>([
    // firebase-admin 13: by `.code`
    [
      'not registered',
      v13('messaging/registration-token-not-registered'),
      { kind: 'gone', reason: 'messaging/registration-token-not-registered' },
    ],
    [
      'invalid token (client-side)',
      v13('messaging/invalid-registration-token'),
      { kind: 'gone', reason: 'messaging/invalid-registration-token' },
    ],
    ['invalid argument', v13('messaging/invalid-argument'), { kind: 'rejected', reason: 'messaging/invalid-argument' }],
    [
      'invalid payload (SDK validation)',
      v13('messaging/invalid-payload'),
      { kind: 'rejected', reason: 'messaging/invalid-payload' },
    ],
    [
      'payload too large',
      v13('messaging/payload-size-limit-exceeded'),
      { kind: 'rejected', reason: 'messaging/payload-size-limit-exceeded' },
    ],
    [
      'rate exceeded, no hint → FCM minimum 60 s',
      v13('messaging/message-rate-exceeded'),
      { kind: 'throttled', reason: 'messaging/message-rate-exceeded', retryAfterMs: 60_000 },
    ],
    [
      'device rate exceeded',
      v13('messaging/device-message-rate-exceeded'),
      { kind: 'throttled', reason: 'messaging/device-message-rate-exceeded', retryAfterMs: 60_000 },
    ],
    [
      'server unavailable',
      v13('messaging/server-unavailable'),
      { kind: 'transient', reason: 'messaging/server-unavailable' },
    ],
    ['internal error', v13('messaging/internal-error'), { kind: 'transient', reason: 'messaging/internal-error' }],
    ['unknown error', v13('messaging/unknown-error'), { kind: 'transient', reason: 'messaging/unknown-error' }],
    ['network error', v13('app/network-error'), { kind: 'transient', reason: 'app/network-error' }],
    ['network timeout', v13('app/network-timeout'), { kind: 'transient', reason: 'app/network-timeout' }],
    [
      'sender id mismatch',
      v13('messaging/mismatched-credential'),
      { kind: 'auth', reason: 'messaging/mismatched-credential' },
    ],
    [
      'third-party auth',
      v13('messaging/third-party-auth-error'),
      { kind: 'auth', reason: 'messaging/third-party-auth-error' },
    ],
    [
      'authentication error (non-JSON 401/403)',
      v13('messaging/authentication-error'),
      { kind: 'auth', reason: 'messaging/authentication-error' },
    ],
    ['OAuth token rejected', v13('app/invalid-credential'), { kind: 'auth', reason: 'oauth token rejected' }],
    [
      'HTTP/2 session failure',
      v13('messaging/app/network-error'),
      { kind: 'transient', reason: 'fcm client messaging/app/network-error' },
    ],
    [
      'socket error',
      Object.assign(new Error('x'), { code: 'ECONNRESET' }),
      { kind: 'transient', reason: 'fcm client ECONNRESET' },
    ],
    ['not an error at all', undefined, { kind: 'transient', reason: 'fcm send failed' }],
    // firebase-admin 14: server errorCode first
    ['v14 UNREGISTERED', google(404, 'NOT_FOUND', 'UNREGISTERED'), { kind: 'gone', reason: 'fcm UNREGISTERED' }],
    ['v14 bare NOT_FOUND', google(404, 'NOT_FOUND'), { kind: 'gone', reason: 'fcm NOT_FOUND' }],
    [
      'v14 INVALID_ARGUMENT on message.token',
      google(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', [tokenViolation]),
      { kind: 'gone', reason: 'fcm INVALID_ARGUMENT message.token' },
    ],
    [
      'v14 INVALID_ARGUMENT elsewhere',
      google(400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', [ttlViolation]),
      { kind: 'rejected', reason: 'fcm INVALID_ARGUMENT' },
    ],
    [
      'v14 QUOTA_EXCEEDED + Retry-After',
      google(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', [], { 'retry-after': '30' }),
      { kind: 'throttled', reason: 'fcm QUOTA_EXCEEDED', retryAfterMs: 30_000 },
    ],
    [
      'v14 UNAVAILABLE + HTTP-date',
      google(503, 'UNAVAILABLE', 'UNAVAILABLE', [], { 'retry-after': new Date(now + 90_000).toUTCString() }),
      { kind: 'transient', reason: 'fcm UNAVAILABLE', retryAfterMs: 90_000 },
    ],
    ['v14 INTERNAL', google(500, 'INTERNAL', 'INTERNAL'), { kind: 'transient', reason: 'fcm INTERNAL' }],
    [
      'v14 SENDER_ID_MISMATCH',
      google(403, 'PERMISSION_DENIED', 'SENDER_ID_MISMATCH'),
      { kind: 'auth', reason: 'fcm SENDER_ID_MISMATCH' },
    ],
    [
      'v14 THIRD_PARTY_AUTH_ERROR',
      google(401, 'UNAUTHENTICATED', 'THIRD_PARTY_AUTH_ERROR'),
      { kind: 'auth', reason: 'fcm THIRD_PARTY_AUTH_ERROR' },
    ],
    [
      'v14 bare UNAUTHENTICATED (bad Bearer)',
      google(401, 'UNAUTHENTICATED'),
      { kind: 'auth', reason: 'fcm UNAUTHENTICATED' },
    ],
    [
      'status only: 429',
      { httpResponse: { status: 429, headers: {}, data: '<html/>' } },
      { kind: 'throttled', reason: 'http 429', retryAfterMs: 60_000 },
    ],
    [
      'status only: 410',
      { httpResponse: { status: 410, headers: {}, data: '' } },
      { kind: 'gone', reason: 'http 410' },
    ],
    [
      'status only: 413',
      { httpResponse: { status: 413, headers: {}, data: '' } },
      { kind: 'rejected', reason: 'http 413' },
    ],
    [
      'status only: 502',
      { httpResponse: { status: 502, headers: {}, data: '' } },
      { kind: 'transient', reason: 'http 502' },
    ],
  ])('%s', (_name, err, expected) => {
    expect(sut(err, {}, now)).toEqual(expected);
  });

  it('never reads the message text', () => {
    const lying = {
      code: 'messaging/internal-error',
      message: 'The registration token is not a valid FCM registration token (UNREGISTERED)',
    };
    expect(sut(lying).kind).toBe('transient');
  });

  describe('batch hints (firebase-admin 13 drops the response)', () => {
    it.each<[string, unknown, Parameters<typeof sut>[1], DeliveryOutcome]>([
      [
        '429 hint applies to throttling',
        v13('messaging/message-rate-exceeded'),
        { retryAfterMs: 30_000 },
        { kind: 'throttled', reason: 'messaging/message-rate-exceeded', retryAfterMs: 30_000 },
      ],
      [
        '429 hint does not apply to a 500',
        v13('messaging/internal-error'),
        { retryAfterMs: 30_000 },
        { kind: 'transient', reason: 'messaging/internal-error' },
      ],
      [
        '503 hint applies to UNAVAILABLE',
        v13('messaging/server-unavailable'),
        { unavailableRetryAfterMs: 120_000 },
        { kind: 'transient', reason: 'messaging/server-unavailable', retryAfterMs: 120_000 },
      ],
      [
        '503 hint does not apply to throttling',
        v13('messaging/message-rate-exceeded'),
        { unavailableRetryAfterMs: 120_000 },
        { kind: 'throttled', reason: 'messaging/message-rate-exceeded', retryAfterMs: 60_000 },
      ],
      [
        'a header on the error wins over the hint',
        google(429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED', [], { 'retry-after': '5' }),
        { retryAfterMs: 30_000 },
        { kind: 'throttled', reason: 'fcm QUOTA_EXCEEDED', retryAfterMs: 5000 },
      ],
      [
        'token fetch failed temporarily',
        v13('app/invalid-credential'),
        { tokenFailureTransient: true },
        { kind: 'transient', reason: 'oauth token fetch failed (temporary)' },
      ],
      [
        'token fetch refused',
        v13('app/invalid-credential'),
        { tokenFailureTransient: false },
        { kind: 'auth', reason: 'oauth token rejected' },
      ],
    ])('%s', (_name, err, context, expected) => {
      expect(sut(err, context, now)).toEqual(expected);
    });
  });
});
