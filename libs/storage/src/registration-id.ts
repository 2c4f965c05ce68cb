import { IDENTITY_BYTES, SECRET_BYTES } from './registration-record';
import { TAG_LENGTH, topicTag } from './keys';

/** A registration id taken apart: its topic's tag, the subscription's identity, the secret. */
export interface RegistrationRef {
  tag: string;
  identity: Buffer;
  secret: Buffer;
}

const IDENTITY_CHARS = 16;
const ID = /^[0-9a-f]{20}[A-Za-z0-9_-]{38}$/;

/**
 * A registration id: the topic's tag (20 hex digits), the identity (12 bytes) and a secret of 128
 * random bits (docs/security.md "Registrations": the DELETE URL is a capability), base64url. The id
 * alone names the registration's keys, on any node of a cluster, with no lookup.
 */
export const registrationIdOf = (tag: string, identity: Buffer, secret: Buffer): string =>
  tag + identity.toString('base64url') + secret.toString('base64url');

/** The parts of a well-formed id (canonical base64url only, so no two ids name one registration), else undefined. */
export function parseRegistrationId(id: string): RegistrationRef | undefined {
  if (!ID.test(id)) return undefined;
  const identity = Buffer.from(id.slice(TAG_LENGTH, TAG_LENGTH + IDENTITY_CHARS), 'base64url');
  const secret = Buffer.from(id.slice(TAG_LENGTH + IDENTITY_CHARS), 'base64url');
  if (
    identity.length !== IDENTITY_BYTES ||
    secret.length !== SECRET_BYTES ||
    registrationIdOf(id.slice(0, TAG_LENGTH), identity, secret) !== id
  )
    return undefined;
  return { tag: id.slice(0, TAG_LENGTH), identity, secret };
}

/** How a dispatch names a registration it settles: its identity part (unique within the topic), without the secret. */
export const settlementName = (registrationId: string): string =>
  registrationId.length >= TAG_LENGTH + IDENTITY_CHARS
    ? registrationId.slice(TAG_LENGTH, TAG_LENGTH + IDENTITY_CHARS)
    : registrationId;

/** The id of a registration whose secret is unknown (gone from its topic): tag and identity only. */
export const vanishedIdOf = (tag: string, identity: Buffer): string => tag + identity.toString('base64url');

/**
 * The id of the dispatch named `name` (e.g. `f` and its fan-out job id) of a tenant topic: the
 * topic's tag first, so the dispatch's keys share the topic's slot.
 */
export const dispatchIdFor = (tenantId: string, topic: string, name: string): string =>
  topicTag(tenantId, topic) + name;
