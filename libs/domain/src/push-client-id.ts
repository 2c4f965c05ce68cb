import { ValidationError } from './errors';

/**
 * CC/CD 70025 (draft-gajda-dav-push-00) §7.1: `Push-Client-Id = token` (RFC 7230 §3.2.6 tchar), percent-encoded per
 * RFC 3986; the value is part of the contract between client and gateway (docs/cc70025.md).
 */
const CLIENT_ID = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/;

/**
 * A `Push-Client-Id` / `client-id` value: 1 to 256 token characters, compared byte for byte (no
 * percent-decoding: both sides send the same encoded token).
 */
export const isPushClientId = (value: unknown): value is string => typeof value === 'string' && CLIENT_ID.test(value);

/** @throws ValidationError naming `what` when the value is not a {@link isPushClientId} token. */
export function assertPushClientId(value: unknown, what = 'client-id'): string {
  if (!isPushClientId(value)) {
    throw new ValidationError(`${what} must be 1 to 256 token characters (RFC 7230 tchar, percent-encoded)`);
  }
  return value;
}

/**
 * How a client id travels in {@link ChangeEvent.dontNotify}: next to registration ids, which never
 * contain `:` (they are base64url), so the two cannot be confused, and coalescing intersects both
 * the same way (a client skipped by one merged event but not by another is notified, which is what
 * CC/CD 70025 §6.1.3 asks of `client-id` after merging).
 */
const CLIENT_SKIP_PREFIX = 'client:';
export const clientSkipEntry = (clientId: string): string => `${CLIENT_SKIP_PREFIX}${clientId}`;
