import type { TokenMessage } from 'firebase-admin/messaging';
import { FCM_MAX_DATA_BYTES, withoutSyncToken, type PushMessage } from '@davpush/domain';
import { buildPushMessage, PushMessageTooLargeError } from '@davpush/webdav-push';
import type { PushDelivery } from '../push-gateway';

/** FCM HTTP v1 refuses an `android.ttl` over 28 days (AndroidConfig.ttl reference). */
export const FCM_MAX_TTL_SECONDS = 2_419_200;

/** FCM's measure of a data message, bounded from above: the UTF-8 length of its JSON text. */
export const dataBytes = (data: Record<string, string>): number => Buffer.byteLength(JSON.stringify(data), 'utf8');

function dataOf(message: PushMessage, payload: string): Record<string, string> {
  const data: Record<string, string> = {};
  if (message.topic !== undefined) data.topic = message.topic;
  data.changes = changesOf(message);
  const syncToken = message.contentUpdate?.syncToken;
  if (syncToken !== undefined) data.sync_token = syncToken;
  data.push_message = payload;
  return data;
}

/** `changes` as README "FCM (our own apps)" spells it: the kinds carried, in a fixed order. */
export function changesOf(message: PushMessage): string {
  const kinds: string[] = [];
  if (message.contentUpdate) kinds.push('content');
  if (message.propertyUpdate) kinds.push('property');
  return kinds.join(',');
}

/**
 * One delivery → one FCM v1 data message (README "FCM (our own apps)"). A data message, not a notification: the
 * client app syncs in the background and decides itself whether anything is worth showing.
 * `android.ttl` is in milliseconds here; firebase-admin turns it into the `"<seconds>s"` duration.
 * Web Push urgencies below `high` all map to `normal`, FCM's only other Android priority.
 *
 * @throws PushMessageTooLargeError when the data cannot be brought under FCM_MAX_DATA_BYTES.
 */
export function buildFcmMessage(d: PushDelivery): TokenMessage {
  const sub = d.registration.subscription;
  if (sub.type !== 'fcm') throw new Error(`buildFcmMessage got a ${sub.type} registration`);
  let data = dataOf(d.message, d.payload);
  // FCM's 4096-byte data limit: the sync-token travels twice (sync_token and inside push_message),
  // so a message that fits one Web Push record may still need to lose it here, the same way.
  if (dataBytes(data) > FCM_MAX_DATA_BYTES) {
    const smaller = withoutSyncToken(d.message);
    data = dataOf(smaller, smaller === d.message ? d.payload : buildPushMessage(smaller));
    if (dataBytes(data) > FCM_MAX_DATA_BYTES) throw new PushMessageTooLargeError(dataBytes(data), FCM_MAX_DATA_BYTES);
  }
  const ttlSeconds = Number.isFinite(d.ttlSeconds)
    ? Math.min(Math.max(Math.floor(d.ttlSeconds), 0), FCM_MAX_TTL_SECONDS)
    : 0;
  return {
    token: sub.token,
    data,
    android: {
      priority: d.urgency === 'high' ? 'high' : 'normal',
      ttl: ttlSeconds * 1000,
      collapseKey: d.collapseKey,
    },
  };
}
