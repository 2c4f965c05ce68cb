/**
 * Error answers as fcm.googleapis.com and oauth2.googleapis.com give them (FCM v1 ErrorCode reference,
 * google.rpc.Status JSON mapping), for the fake FCM. firebase-admin maps these bodies to its error
 * codes; our classifier reads only those codes, so the bodies must be Google's, not ours.
 */
const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest';

export type FcmFailure =
  | 'UNREGISTERED'
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'INVALID_TOKEN'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'SENDER_ID_MISMATCH'
  | 'THIRD_PARTY_AUTH_ERROR'
  | 'PROXY_502';

export interface GoogleAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = { 'content-type': 'application/json; charset=UTF-8' };

export function googleError(code: number, status: string, message: string, details: unknown[] = []): GoogleAnswer {
  const error = details.length ? { code, message, status, details } : { code, message, status };
  return { status: code, headers: { ...JSON_TYPE }, body: JSON.stringify({ error }) };
}

const fcm = (errorCode: string) => ({ '@type': FCM_ERROR, errorCode });

export function failureAnswer(failure: FcmFailure, retryAfter?: string): GoogleAnswer {
  switch (failure) {
    case 'UNREGISTERED':
      return googleError(404, 'NOT_FOUND', 'Requested entity was not found.', [fcm('UNREGISTERED')]);
    case 'NOT_FOUND':
      // Older answers carry only the canonical status, no FcmError detail.
      return googleError(404, 'NOT_FOUND', 'Requested entity was not found.');
    case 'INVALID_ARGUMENT':
      return googleError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.', [fcm('INVALID_ARGUMENT')]);
    case 'INVALID_TOKEN':
      return googleError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', [
        fcm('INVALID_ARGUMENT'),
        {
          '@type': BAD_REQUEST,
          fieldViolations: [
            { field: 'message.token', description: 'The registration token is not a valid FCM registration token' },
          ],
        },
      ]);
    case 'QUOTA_EXCEEDED': {
      const a = googleError(
        429,
        'RESOURCE_EXHAUSTED',
        "Quota exceeded for quota metric 'Send requests' and limit 'Send requests per minute' of service 'fcm.googleapis.com'.",
        [fcm('QUOTA_EXCEEDED')],
      );
      if (retryAfter !== undefined) a.headers['retry-after'] = retryAfter;
      return a;
    }
    case 'UNAVAILABLE': {
      const a = googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.', [fcm('UNAVAILABLE')]);
      if (retryAfter !== undefined) a.headers['retry-after'] = retryAfter;
      return a;
    }
    case 'INTERNAL':
      return googleError(500, 'INTERNAL', 'Internal error encountered.', [fcm('INTERNAL')]);
    case 'SENDER_ID_MISMATCH':
      return googleError(403, 'PERMISSION_DENIED', 'SenderId mismatch', [fcm('SENDER_ID_MISMATCH')]);
    case 'THIRD_PARTY_AUTH_ERROR':
      return googleError(401, 'UNAUTHENTICATED', 'Auth error from APNS or Web Push Service', [
        fcm('THIRD_PARTY_AUTH_ERROR'),
      ]);
    case 'PROXY_502':
      // A front-end proxy's HTML page: not JSON, so firebase-admin falls back to the status.
      return {
        status: 502,
        headers: { 'content-type': 'text/html; charset=UTF-8' },
        body: '<html><body><h1>502 Bad Gateway</h1></body></html>',
      };
  }
}

/** A Bearer token Google did not issue (or that expired). */
export const UNAUTHENTICATED = googleError(
  401,
  'UNAUTHENTICATED',
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
);

export function invalidArgument(field: string, description: string): GoogleAnswer {
  return googleError(400, 'INVALID_ARGUMENT', description, [
    fcm('INVALID_ARGUMENT'),
    { '@type': BAD_REQUEST, fieldViolations: [{ field, description }] },
  ]);
}

/** Google's JSON parser refuses unknown fields before FCM sees the message. */
export function unknownField(name: string, at: string): GoogleAnswer {
  return googleError(
    400,
    'INVALID_ARGUMENT',
    `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`,
    [
      {
        '@type': BAD_REQUEST,
        fieldViolations: [
          {
            field: at,
            description: `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`,
          },
        ],
      },
    ],
  );
}

/** RFC 6749 §5.2 error body as oauth2.googleapis.com/token sends it. */
export function oauthError(error: string, description: string, status = 400): GoogleAnswer {
  return { status, headers: { ...JSON_TYPE }, body: JSON.stringify({ error, error_description: description }) };
}
