import { describe, expect, it } from 'vitest';
import type { DeliveryOutcome } from './delivery-outcome';
import {
  decideDelivery as sut,
  type DeliveryDecision,
  type DeliveryPolicies,
  type DeliveryRecord,
} from './delivery-decision';

const day = 86_400_000;
const now = 10 * day;
const policies: DeliveryPolicies = {
  retry: { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 5 },
  prune: { minConsecutiveFailures: 3, minSilenceMs: day },
};
const fresh: DeliveryRecord = { consecutiveFailures: 1, createdAt: now - 1000 };
const stale: DeliveryRecord = { consecutiveFailures: 3, createdAt: 0, lastSuccessAt: now - day };
const failingButRecent: DeliveryRecord = { consecutiveFailures: 9, createdAt: 0, lastSuccessAt: now - 1000 };
const far = { attempt: 0, deadline: now + day };

const transient: DeliveryOutcome = { kind: 'transient', reason: 'http 503' };
const throttled: DeliveryOutcome = { kind: 'throttled', reason: 'http 429', retryAfterMs: 30_000 };

describe('decideDelivery', () => {
  it.each<
    [string, DeliveryOutcome, DeliveryRecord | undefined, { attempt: number; deadline: number }, DeliveryDecision]
  >([
    ['accepted', { kind: 'accepted' }, undefined, far, { action: 'accepted' }],
    ['gone prunes at once', { kind: 'gone', reason: 'http 410' }, undefined, far, { action: 'prune', reason: 'gone' }],
    [
      'rejected is dead-lettered, never retried',
      { kind: 'rejected', reason: 'http 413' },
      stale,
      far,
      { action: 'dead-letter', reason: 'rejected: http 413' },
    ],
    [
      'auth is dead-lettered, never pruned',
      { kind: 'auth', reason: 'http 403' },
      stale,
      far,
      { action: 'dead-letter', reason: 'auth: http 403' },
    ],
    ['transient past the failure window prunes', transient, stale, far, { action: 'prune', reason: 'failure-window' }],
    [
      'transient with many failures but a recent success retries',
      transient,
      failingButRecent,
      far,
      { action: 'retry-at', at: now + 500 },
    ],
    ['transient on a fresh registration retries', transient, fresh, far, { action: 'retry-at', at: now + 500 }],
    [
      'transient without a record (registration gone meanwhile) retries',
      transient,
      undefined,
      far,
      { action: 'retry-at', at: now + 500 },
    ],
    ['throttled never prunes, even past the window', throttled, stale, far, { action: 'retry-at', at: now + 30_000 }],
    ['throttled waits for Retry-After', throttled, fresh, far, { action: 'retry-at', at: now + 30_000 }],
    [
      'a retry past the deadline is a dead letter',
      throttled,
      fresh,
      { attempt: 0, deadline: now + 20_000 },
      { action: 'dead-letter', reason: 'TTL runs out before the next attempt (last: http 429)' },
    ],
    [
      'spent attempts are a dead letter',
      transient,
      fresh,
      { attempt: 4, deadline: now + day },
      { action: 'dead-letter', reason: 'gave up after 5 attempts (last: http 503)' },
    ],
  ])('%s', (_name, outcome, record, attempt, expected) => {
    // Jitter pinned at half the ceiling: the first backoff is 500 ms.
    expect(sut(outcome, record, attempt, now, policies, () => 0.5)).toEqual(expected);
  });
});
