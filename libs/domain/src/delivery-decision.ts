import type { DeliveryOutcome } from './delivery-outcome';
import { decideRetry, shouldPruneAfterFailures, type PrunePolicy, type RetryPolicy } from './retry-policy';

/** The registration's delivery record, read after this attempt's failure was counted on it. */
export interface DeliveryRecord {
  consecutiveFailures: number;
  /** ms since the epoch */
  lastSuccessAt?: number;
  /** ms since the epoch */
  createdAt: number;
}

/** What one delivery attempt made of its outcome (README "Delivery semantics"). */
export type DeliveryDecision =
  /** Delivered: success recorded on the registration, the dispatch settled `accepted`. */
  | { action: 'accepted' }
  /** The registration is removed and the dispatch settled `gone`: the subscription no longer exists, or the failure window passed. */
  | { action: 'prune'; reason: 'gone' | 'failure-window' }
  /** Given up: a dead letter (replayable), the dispatch settled `failed`, the registration kept. */
  | { action: 'dead-letter'; reason: string }
  /** Tried again at `at` (ms since the epoch), before the message's deadline. */
  | { action: 'retry-at'; at: number };

export interface DeliveryAttempt {
  /** Outcome-driven attempts made before this one (0 for the first). */
  attempt: number;
  /** The message's deadline (acceptance + TTL), ms since the epoch. */
  deadline: number;
}

export interface DeliveryPolicies {
  retry: RetryPolicy;
  prune: PrunePolicy;
}

/**
 * Outcome → action, with no I/O. `record` is the registration's record after a `throttled` or
 * `transient` failure was counted on it (undefined when the registration no longer exists: never
 * pruned then). `gone` prunes at once; of the failures only `transient` can prune, and only past
 * the tolerance window (`shouldPruneAfterFailures`); `rejected` and `auth` are never retried
 * nor pruned: the message or our credentials are at fault. `now` is ms since the epoch; `random`
 * is the jitter source of {@link decideRetry}.
 */
export function decideDelivery(
  outcome: DeliveryOutcome,
  record: DeliveryRecord | undefined,
  attempt: DeliveryAttempt,
  now: number,
  policies: DeliveryPolicies,
  random = Math.random,
): DeliveryDecision {
  switch (outcome.kind) {
    case 'accepted':
      return { action: 'accepted' };
    case 'gone':
      return { action: 'prune', reason: 'gone' };
    case 'rejected':
    case 'auth':
      return { action: 'dead-letter', reason: `${outcome.kind}: ${outcome.reason}` };
    case 'throttled':
    case 'transient': {
      if (outcome.kind === 'transient' && record && shouldPruneAfterFailures(record, now, policies.prune)) {
        return { action: 'prune', reason: 'failure-window' };
      }
      const retry = decideRetry(outcome, attempt.attempt + 1, now, attempt.deadline, policies.retry, random);
      return 'giveUp' in retry
        ? { action: 'dead-letter', reason: retry.giveUp }
        : { action: 'retry-at', at: retry.retryAt };
    }
  }
}
