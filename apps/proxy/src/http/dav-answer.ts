import type { ServerResponse } from 'node:http';
import { DomainError, PreconditionFailedError, RateLimitedError, StorageUnavailableError } from '@davpush/domain';
import { buildDavError, buildDavErrorMessage } from '@davpush/webdav-push';

/** The HTTP status of each domain error kind, as the tenant API answers them. */
export const STATUS_OF: Record<DomainError['kind'], number> = {
  validation: 400,
  precondition: 403,
  'not-found': 404,
  'too-large': 413,
  'unsupported-media-type': 415,
  unauthorized: 401,
  conflict: 409,
  'rate-limited': 429,
  unavailable: 503,
};

/** A DAV:error body (RFC 4918 §16), as a DAV client expects from a DAV server. */
export function sendDavError(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/xml; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * A domain error as the DAV client's answer: preconditions as `403` with the WebDAV-Push element
 * (draft §"Subscription Registration"), others with a `D:responsedescription` naming the problem.
 *
 * @returns false for anything that is no domain error (the caller answers 5xx or 503).
 */
export function sendDomainError(res: ServerResponse, err: unknown): boolean {
  if (!(err instanceof DomainError)) return false;
  const headers: Record<string, string> = {};
  if (err instanceof RateLimitedError || err instanceof StorageUnavailableError)
    headers['retry-after'] = String(err.retryAfterSeconds);
  const body =
    err instanceof PreconditionFailedError
      ? buildDavError(err.precondition, err.message)
      : buildDavErrorMessage(err.message);
  sendDavError(res, STATUS_OF[err.kind], body, headers);
  return true;
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * `502 Bad Gateway` (RFC 9110 §15.6.3): the DAV server behind the proxy did not answer. The same
 * for every method, push-register and registration DELETE included; `503` is kept for davpush's
 * own store being out.
 */
export function sendUpstreamUnreachable(res: ServerResponse, err: { code: string }): void {
  sendText(res, 502, `davpush proxy: the DAV server did not answer (${err.code})\n`);
}
