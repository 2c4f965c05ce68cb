import { createHmac } from 'node:crypto';
import type { ChangeKind } from './change-event';
import type { Trigger } from './trigger';

/**
 * The WebDAV-Push `push-message` (draft §"Push message"), before encoding. `topic` is absent only
 * in the VAPID key-rotation message.
 */
export interface PushMessage {
  topic?: string;
  contentUpdate?: { syncToken?: string };
  propertyUpdate?: { props?: string[] };
}

/** Which of the changed kinds a registration asked to hear about (reference §9 item 27). */
export function kindsFor(trigger: Trigger, changes: readonly ChangeKind[]): ChangeKind[] {
  return changes.filter((k) => (k === 'content' ? !!trigger.contentUpdate : !!trigger.propertyUpdate));
}

export function pushMessageFor(topic: string, kinds: readonly ChangeKind[], syncToken?: string): PushMessage {
  const message: PushMessage = { topic };
  if (kinds.includes('content')) message.contentUpdate = syncToken === undefined ? {} : { syncToken };
  if (kinds.includes('property')) message.propertyUpdate = {};
  return message;
}

/** Sent before a VAPID key switch so clients re-read `transports` (draft §"VAPID key rotation"). */
export const KEY_ROTATION_MESSAGE: PushMessage = {
  propertyUpdate: { props: ['{https://bitfire.at/webdav-push}transports'] },
};

/**
 * RFC 8030 `Topic` / FCM `collapse_key`: a keyed hash of tenant, topic and the kinds carried, cut to
 * 32 base64url characters (RFC 8030 §5.4). The raw topic never reaches a push service. The kinds are
 * part of it so a pending property update is never replaced by a content-only message (draft §1.7).
 */
export function collapseKeyFor(key: Buffer, tenantId: string, topic: string, kinds: readonly ChangeKind[]): string {
  return createHmac('sha256', key).update(`${tenantId}\0${topic}\0${[...kinds].toSorted().join(',')}`).digest('base64url').slice(0, 32);
}
