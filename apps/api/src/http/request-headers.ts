import { assertPushClientId, ValidationError } from '@davpush/domain';
import type { AuthedRequest } from './auth.guards';

/** `X-Davpush-Principal`: the calendar server's user a registration is bound to (README "HTTP API"). */
export function principalOf(req: AuthedRequest): string | undefined {
  const v = req.headers['x-davpush-principal'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 256 || /[\u0000-\u001f\u007f]/.test(v)) {
    throw new ValidationError('X-Davpush-Principal must be 1 to 256 printable characters, given once');
  }
  return v;
}

/**
 * `Push-Client-Id` (CC/CD 70025, draft-gajda-dav-push-00 §7.1), forwarded by the calendar server
 * from the client's request: one token, given once.
 */
export function pushClientIdOf(req: AuthedRequest): string | undefined {
  const v = req.headers['push-client-id'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.includes(',')) throw new ValidationError('Push-Client-Id must be given once');
  return assertPushClientId(v.trim(), 'Push-Client-Id');
}
