import type { ServerResponse } from 'node:http';
import { DomainError, PreconditionFailedError, RateLimitedError, StorageUnavailableError } from '@davpush/domain';
import type { RedisService } from '@davpush/storage';
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
 * `err` itself when it is a domain error, else as RedisService.asDomainError sees it: davpush's own
 * Redis failing (a command timeout, the connection down, a Cluster not serving the slot) becomes a
 * StorageUnavailableError, a 503 with Retry-After, as in the tenant API
 * (apps/api/src/http/domain-exception.filter.ts). A domain error is never passed to it: while the
 * connection is down it calls every error unavailable.
 */
export function asOwnDomainError(err: unknown, redis: RedisService): unknown {
  return err instanceof DomainError ? err : redis.asDomainError(err);
}

/** `Retry-After` for the domain errors that say when to come back: rate limits, storage unavailable. */
export function retryAfterOf(err: DomainError): Record<string, string> {
  return err instanceof RateLimitedError || err instanceof StorageUnavailableError
    ? { 'retry-after': String(err.retryAfterSeconds) }
    : {};
}

/**
 * A domain error as the DAV client's answer: preconditions as `403` with the WebDAV-Push element
 * (draft §"Subscription Registration"), others with a `D:responsedescription` naming the problem.
 *
 * @returns false for anything that is no domain error (the caller answers 5xx or 503).
 */
export function sendDomainError(res: ServerResponse, err: unknown): boolean {
  if (!(err instanceof DomainError)) return false;
  const body =
    err instanceof PreconditionFailedError
      ? buildDavError(err.precondition, err.message)
      : buildDavErrorMessage(err.message);
  sendDavError(res, STATUS_OF[err.kind], body, retryAfterOf(err));
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
