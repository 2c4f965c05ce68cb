/**
 * The one vocabulary every gateway's classifier speaks (README "Delivery semantics"). Decisions (retry? prune?
 * dead-letter?) are taken on these, never on status codes or SDK error text.
 */
export type DeliveryOutcome =
  | { kind: 'accepted' }
  /** 404/410/UNREGISTERED: the subscription no longer exists. Prune, never retry. */
  | { kind: 'gone'; reason: string }
  /** 400/413/INVALID_ARGUMENT: this message can never go. No retry, registration kept. */
  | { kind: 'rejected'; reason: string }
  /** 401/403/FCM auth errors: our credentials are wrong. No retry, registration kept, operators alerted. */
  | { kind: 'auth'; reason: string }
  /** 429: retry this delivery only, no earlier than retryAfterMs. */
  | { kind: 'throttled'; reason: string; retryAfterMs?: number }
  /** 5xx, timeouts, network: retry with backoff within the message's TTL. */
  | { kind: 'transient'; reason: string; retryAfterMs?: number };

export type OutcomeKind = DeliveryOutcome['kind'];
export const OUTCOME_KINDS: readonly OutcomeKind[] = ['accepted', 'gone', 'rejected', 'auth', 'throttled', 'transient'];

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date. Returns milliseconds from `now`, or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const trimmed = v.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed), 86_400) * 1000;
  const t = Date.parse(trimmed);
  if (!Number.isFinite(t)) return undefined;
  return Math.max(0, Math.min(t - now, 86_400_000));
}
