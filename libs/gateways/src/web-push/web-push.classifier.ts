import { parseRetryAfter, type DeliveryOutcome } from '@davpush/domain';
import type { HttpAnswer } from '../http/safe-http.client';

/**
 * RFC 8030 answers → outcome (RFC 8030 §5; README "Delivery semantics"). By status code only, never by text:
 * 404/410 gone; 401/403 our VAPID is wrong (keep the registration); 400/413 and other 4xx this
 * message can't go; 429 wait for Retry-After; 5xx transient; 3xx is not followed (SSRF) and fails.
 */
export function classifyWebPushAnswer(
  answer: Pick<HttpAnswer, 'status' | 'headers'>,
  now = Date.now(),
): DeliveryOutcome {
  const s = answer.status;
  const retryAfterMs = parseRetryAfter(answer.headers['retry-after'], now);
  if (s >= 200 && s < 300) return { kind: 'accepted' };
  if (s === 404 || s === 410) return { kind: 'gone', reason: `http ${s}` };
  if (s === 401 || s === 403) return { kind: 'auth', reason: `http ${s}` };
  if (s === 429) return { kind: 'throttled', reason: 'http 429', retryAfterMs };
  if (s >= 500) return { kind: 'transient', reason: `http ${s}`, retryAfterMs };
  if (s >= 300 && s < 400) return { kind: 'rejected', reason: `http ${s} redirect not followed` };
  if (s === 408) return { kind: 'transient', reason: 'http 408' };
  return { kind: 'rejected', reason: `http ${s}` };
}

/**
 * Errors before any answer. Never `gone`: only the push service's own 404/410 says a subscription
 * no longer exists (RFC 8030 §7.3, §8.2). Our own refusal (the SSRF guard of this process, whose
 * settings may differ from the server's, or a URL we cannot parse) says nothing about the
 * subscription: the message is `rejected`, the registration kept.
 */
export function classifyWebPushError(err: unknown): DeliveryOutcome {
  const code = (err as { code?: string } | undefined)?.code;
  if (code === 'EDAVPUSH_FORBIDDEN_ADDRESS')
    return { kind: 'rejected', reason: 'push resource resolves to an address this process refuses' };
  if (code === 'ERR_INVALID_URL') return { kind: 'rejected', reason: 'push resource is not a valid URL' };
  return { kind: 'transient', reason: code ? `network ${code}` : 'network error' };
}
