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

/**
 * RFC 8291 §4: a push message is one aes128gcm record of at most 4096 octets, which leaves 3993
 * octets of plaintext (4096 − 86 header − 16 tag − 1 delimiter). Push services refuse or truncate
 * more (UnifiedPush specifications issues #26, #28: https://github.com/UnifiedPush/specifications/issues/26).
 */
export const WEB_PUSH_MAX_PLAINTEXT_BYTES = 3993;

/**
 * FCM refuses a data message over 4096 bytes ("Message is too big"; FCM concept docs, "message
 * types"). davpush measures its `data` as the UTF-8 length of its JSON text, which is never less
 * than the sum of keys and values FCM counts.
 */
export const FCM_MAX_DATA_BYTES = 4096;

/**
 * The same message without the sync-token, for a message too large for its transport: the draft
 * only says a push-message SHOULD carry it, and a client that gets none simply syncs, which is
 * always correct. Returns `m` itself when there is no sync-token to drop.
 */
export function withoutSyncToken(m: PushMessage): PushMessage {
  if (m.contentUpdate?.syncToken === undefined) return m;
  return { ...m, contentUpdate: {} };
}

/** Which of the changed kinds a registration asked to hear about (a content-update trigger is not told of property changes, and vice versa: WebDAV-Push draft, "Subscription Registration"). */
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
  return createHmac('sha256', key)
    .update(`${tenantId}\0${topic}\0${[...kinds].toSorted().join(',')}`)
    .digest('base64url')
    .slice(0, 32);
}
