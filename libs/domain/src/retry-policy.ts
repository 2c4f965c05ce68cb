import type { DeliveryOutcome } from './delivery-outcome';

export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 10 * 60_000, maxAttempts: 25 };

export type RetryDecision = { retryAt: number } | { giveUp: string };

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^(n-1))] (spreads retry storms). */
function backoffMs(attempt: number, p: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/**
 * When to try a failed delivery again (README "Delivery semantics"). `attempt` counts the attempts made so far.
 * A push service's Retry-After is a floor, never shortened; no retry may land past the message's
 * deadline (its TTL), and the attempt count is bounded too.
 */
export function decideRetry(
  outcome: Extract<DeliveryOutcome, { kind: 'throttled' | 'transient' }>,
  attempt: number,
  now: number,
  deadline: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random = Math.random,
): RetryDecision {
  if (attempt >= policy.maxAttempts) return { giveUp: `gave up after ${attempt} attempts (last: ${outcome.reason})` };
  // At least a small pause even with full jitter's zero, so a hot loop is impossible.
  const jittered = Math.max(250, backoffMs(attempt, policy, random));
  const wait = outcome.retryAfterMs !== undefined ? Math.max(outcome.retryAfterMs, 250) : jittered;
  const retryAt = now + wait;
  if (retryAt >= deadline) return { giveUp: `TTL runs out before the next attempt (last: ${outcome.reason})` };
  return { retryAt };
}

export interface PrunePolicy {
  /** Consecutive failed deliveries before a registration may be pruned for transient errors. */
  minConsecutiveFailures: number;
  /** …and no success for at least this long (ms). */
  minSilenceMs: number;
}

const DEFAULT_PRUNE_POLICY: PrunePolicy = { minConsecutiveFailures: 10, minSilenceMs: 3 * 86_400_000 };

/** Tolerance window (draft §"Invalid subscriptions"): transient errors prune only when both limits are passed. */
export function shouldPruneAfterFailures(
  r: { consecutiveFailures: number; lastSuccessAt?: number; createdAt: number },
  now: number,
  p: PrunePolicy = DEFAULT_PRUNE_POLICY,
): boolean {
  return r.consecutiveFailures >= p.minConsecutiveFailures && now - (r.lastSuccessAt ?? r.createdAt) >= p.minSilenceMs;
}
