import { describe, expect, it } from 'vitest';
import { classifyWebPushAnswer as sut, classifyWebPushError } from './web-push.classifier';
import { ForbiddenAddressError } from '../http/address-guard';

const now = Date.parse('2026-11-21T12:00:00Z');

describe('classifyWebPushAnswer', () => {
  it.each([
    [201, {}, { kind: 'accepted' }],
    [202, {}, { kind: 'accepted' }],
    [404, {}, { kind: 'gone', reason: 'http 404' }],
    [410, {}, { kind: 'gone', reason: 'http 410' }],
    [400, {}, { kind: 'rejected', reason: 'http 400' }],
    [413, {}, { kind: 'rejected', reason: 'http 413' }],
    [401, {}, { kind: 'auth', reason: 'http 401' }],
    [403, {}, { kind: 'auth', reason: 'http 403' }],
    [429, { 'retry-after': '30' }, { kind: 'throttled', reason: 'http 429', retryAfterMs: 30_000 }],
    [
      429,
      { 'retry-after': new Date(now + 90_000).toUTCString() },
      { kind: 'throttled', reason: 'http 429', retryAfterMs: 90_000 },
    ],
    [429, {}, { kind: 'throttled', reason: 'http 429', retryAfterMs: undefined }],
    [500, {}, { kind: 'transient', reason: 'http 500', retryAfterMs: undefined }],
    [503, { 'retry-after': '5' }, { kind: 'transient', reason: 'http 503', retryAfterMs: 5000 }],
    [301, {}, { kind: 'rejected', reason: 'http 301 redirect not followed' }],
    [307, {}, { kind: 'rejected', reason: 'http 307 redirect not followed' }],
  ])('%d %o', (status, headers, expected) => {
    expect(sut({ status, headers }, now)).toEqual(expected);
  });
});

describe('classifyWebPushError', () => {
  it.each([
    [new ForbiddenAddressError('evil.example', '10.0.0.1'), 'rejected'],
    [Object.assign(new TypeError('x'), { code: 'ERR_INVALID_URL' }), 'rejected'],
    [Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'transient'],
    [Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), 'transient'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'transient'],
    [new Error('anything'), 'transient'],
  ])('%s → %s', (err, kind) => expect(classifyWebPushError(err).kind).toBe(kind));
});
