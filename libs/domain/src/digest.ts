import { createHash } from 'node:crypto';

/**
 * SHA-256 of `value`, base64url (43 characters). Topics, identities and idempotency keys are client
 * text of any length: Redis keys and BullMQ job ids carry this digest, never the text itself.
 */
export const digest = (value: string): string => createHash('sha256').update(value).digest('base64url');
