import { parseRetryAfter, type DeliveryOutcome } from '@davpush/domain';

/**
 * FCM answers → outcome (README "FCM (our own apps)"; FCM error codes: https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode), by code only, never by message text:
 *
 * | FCM v1 errorCode / status (HTTP)                    | firebase-admin `.code`                        | outcome   |
 * |-----------------------------------------------------|-----------------------------------------------|-----------|
 * | UNREGISTERED, NOT_FOUND (404)                       | registration-token-not-registered             | gone      |
 * | INVALID_ARGUMENT on field `message.token` (400)     | invalid-registration-token                    | gone      |
 * | INVALID_ARGUMENT, other (400)                       | invalid-argument, invalid-payload, …          | rejected  |
 * | QUOTA_EXCEEDED, RESOURCE_EXHAUSTED (429)            | message-rate-exceeded (+ device/topics)       | throttled |
 * | UNAVAILABLE (503), INTERNAL (500)                   | server-unavailable, internal-error            | transient |
 * | SENDER_ID_MISMATCH, PERMISSION_DENIED (403)         | mismatched-credential                         | auth      |
 * | THIRD_PARTY_AUTH_ERROR, UNAUTHENTICATED (401)       | third-party-auth-error, authentication-error  | auth      |
 *
 * SENDER_ID_MISMATCH is `auth`, not `gone`: it usually means our key is for the wrong project, and
 * pruning would delete every registration of a misconfigured installation (dispatch-anchors §4).
 * firebase-admin 13 keeps only `.code`; v14 adds `httpResponse {status, headers, data}`, which is
 * read first when present (it tells an invalid token apart from another invalid argument).
 */
export interface FcmErrorContext {
  /** Retry-After seen on this batch's 429s when the error itself does not carry the response. */
  retryAfterMs?: number;
  /** Likewise for 503s (firebase-admin retries 503 itself unless Retry-After exceeds 60 s). */
  unavailableRetryAfterMs?: number;
  /** CredentialHealth's verdict on the last OAuth failure (`app/invalid-credential` hides it). */
  tokenFailureTransient?: boolean;
}

/**
 * With no Retry-After, FCM asks for "exponential backoff with a minimum initial delay of 1 minute"
 * on QUOTA_EXCEEDED (firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
 */
export const FCM_THROTTLE_DEFAULT_MS = 60_000;

type Kind = Exclude<DeliveryOutcome['kind'], 'accepted'>;

const BY_SERVER_CODE: Record<string, Kind> = {
  UNREGISTERED: 'gone',
  NOT_FOUND: 'gone',
  INVALID_ARGUMENT: 'rejected',
  QUOTA_EXCEEDED: 'throttled',
  RESOURCE_EXHAUSTED: 'throttled',
  UNAVAILABLE: 'transient',
  INTERNAL: 'transient',
  SENDER_ID_MISMATCH: 'auth',
  PERMISSION_DENIED: 'auth',
  THIRD_PARTY_AUTH_ERROR: 'auth',
  UNAUTHENTICATED: 'auth',
  APNS_AUTH_ERROR: 'auth',
};

const BY_SDK_CODE: Record<string, Kind> = {
  'messaging/registration-token-not-registered': 'gone',
  'messaging/invalid-registration-token': 'gone',
  'messaging/installation-id-not-registered': 'gone',
  'messaging/invalid-argument': 'rejected',
  'messaging/invalid-payload': 'rejected',
  'messaging/invalid-data-payload-key': 'rejected',
  'messaging/payload-size-limit-exceeded': 'rejected',
  'messaging/invalid-options': 'rejected',
  'messaging/invalid-package-name': 'rejected',
  'messaging/invalid-recipient': 'rejected',
  'messaging/message-rate-exceeded': 'throttled',
  'messaging/device-message-rate-exceeded': 'throttled',
  'messaging/topics-message-rate-exceeded': 'throttled',
  'messaging/server-unavailable': 'transient',
  'messaging/internal-error': 'transient',
  'messaging/unknown-error': 'transient',
  'app/network-error': 'transient',
  'app/network-timeout': 'transient',
  'messaging/mismatched-credential': 'auth',
  'messaging/third-party-auth-error': 'auth',
  'messaging/authentication-error': 'auth',
};

interface ErrorLike {
  code?: unknown;
  httpResponse?: { status?: unknown; headers?: Record<string, unknown>; data?: unknown };
}

interface GoogleErrorBody {
  error?: {
    status?: string;
    details?: { '@type'?: string; errorCode?: string; fieldViolations?: { field?: string }[] }[];
  };
}

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

/** FCM's own errorCode when the body has one, else the canonical status (what firebase-admin maps from). */
function serverCodeOf(data: unknown): string | undefined {
  const error = (data as GoogleErrorBody | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  const fcm = Array.isArray(error.details)
    ? error.details.find((d) => d?.['@type'] === FCM_ERROR_TYPE)?.errorCode
    : undefined;
  return typeof fcm === 'string' ? fcm : typeof error.status === 'string' ? error.status : undefined;
}

/** google.rpc.BadRequest naming `message.token`: the token itself is malformed, so it is gone. */
function isTokenViolation(data: unknown): boolean {
  const details = (data as GoogleErrorBody | undefined)?.error?.details;
  return (
    Array.isArray(details) &&
    details.some(
      (d) => d?.['@type'] === BAD_REQUEST_TYPE && d.fieldViolations?.some((v) => v?.field === 'message.token'),
    )
  );
}

function byStatus(status: number): Kind | undefined {
  if (status === 404 || status === 410) return 'gone';
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'throttled';
  if (status >= 500 || status === 408) return 'transient';
  if (status >= 400) return 'rejected';
  return undefined;
}

function outcomeOf(kind: Kind, reason: string, retryAfterMs: number | undefined): DeliveryOutcome {
  if (kind === 'throttled') return { kind, reason, retryAfterMs: retryAfterMs ?? FCM_THROTTLE_DEFAULT_MS };
  if (kind === 'transient') return { kind, reason, retryAfterMs };
  return { kind, reason };
}

/** Classifies one failed `sendEach` entry (or a whole-batch failure). Pure. */
export function classifyFcmError(err: unknown, context: FcmErrorContext = {}, now = Date.now()): DeliveryOutcome {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const response = e.httpResponse;
  const header = response?.headers?.['retry-after'];
  const fromHeader = typeof header === 'string' ? parseRetryAfter(header, now) : undefined;
  // A batch-level hint only fits the answers it came from: 429s for throttling, 503s for UNAVAILABLE.
  const unavailable = code === 'messaging/server-unavailable' || response?.status === 503;
  const hint = (kind: Kind) =>
    fromHeader ??
    (kind === 'throttled' ? context.retryAfterMs : unavailable ? context.unavailableRetryAfterMs : undefined);
  const outcome = (kind: Kind, reason: string) => outcomeOf(kind, reason, hint(kind));

  const serverCode = serverCodeOf(response?.data);
  if (serverCode === 'INVALID_ARGUMENT' && isTokenViolation(response?.data))
    return outcome('gone', 'fcm INVALID_ARGUMENT message.token');
  const serverKind = serverCode ? BY_SERVER_CODE[serverCode] : undefined;
  if (serverKind) return outcome(serverKind, `fcm ${serverCode}`);

  if (code === 'app/invalid-credential') {
    // The OAuth exchange failed before any send; only the credential knows whether it may pass.
    return context.tokenFailureTransient
      ? outcome('transient', 'oauth token fetch failed (temporary)')
      : outcome('auth', 'oauth token rejected');
  }
  const sdkKind = code ? BY_SDK_CODE[code] : undefined;
  if (sdkKind) return outcome(sdkKind, code!);

  const status = typeof response?.status === 'number' ? response.status : undefined;
  const statusKind = status !== undefined ? byStatus(status) : undefined;
  if (statusKind) return outcome(statusKind, `http ${status}`);

  // Unknown codes (HTTP/2 session failures, socket errors): retrying within the TTL is the safe side.
  return outcome('transient', code ? `fcm client ${code}` : 'fcm send failed');
}
