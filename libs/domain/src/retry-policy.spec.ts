import { describe, expect, it } from 'vitest';
import { decideRetry as sut, shouldPruneAfterFailures } from './retry-policy';

const transient = { kind: 'transient' as const, reason: 'http 503' };

describe('decideRetry', () => {
  it('backs off exponentially with full jitter', () => {
    const at = (n: number) => (sut(transient, n, 0, 1e12, undefined, () => 0.999) as { retryAt: number }).retryAt;
    expect(at(1)).toBeLessThan(1000);
    expect(at(3)).toBeGreaterThan(3000);
    expect(at(3)).toBeLessThan(4000);
  });

  it('never retries earlier than Retry-After', () => {
    expect(sut({ kind: 'throttled', reason: '429', retryAfterMs: 30_000 }, 1, 0, 1e12, undefined, () => 0)).toEqual({
      retryAt: 30_000,
    });
  });

  it('gives up when the next attempt would land past the TTL', () => {
    expect(sut({ kind: 'throttled', reason: '429', retryAfterMs: 30_000 }, 1, 0, 20_000)).toHaveProperty('giveUp');
  });

  it('gives up when attempts are spent', () => {
    expect(sut(transient, 25, 0, 1e12)).toHaveProperty('giveUp');
  });
});

describe('shouldPruneAfterFailures', () => {
  const day = 86_400_000;
  it.each([
    [{ consecutiveFailures: 10, createdAt: 0 }, 3 * day, true],
    [{ consecutiveFailures: 9, createdAt: 0 }, 30 * day, false],
    [{ consecutiveFailures: 50, createdAt: 0, lastSuccessAt: 2 * day }, 3 * day, false],
  ])('%o at %d → %s', (r, now, expected) => expect(shouldPruneAfterFailures(r, now)).toBe(expected));
});
