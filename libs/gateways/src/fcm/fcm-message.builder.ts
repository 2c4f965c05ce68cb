import type { TokenMessage } from 'firebase-admin/messaging';
import type { PushMessage } from '@davpush/domain';
import type { PushDelivery } from '../push-gateway';

/** FCM HTTP v1 refuses an `android.ttl` over 28 days (AndroidConfig.ttl reference). */
export const FCM_MAX_TTL_SECONDS = 2_419_200;

/** `changes` as CONTRACT §4 spells it: the kinds carried, in a fixed order. */
export function changesOf(message: PushMessage): string {
  const kinds: string[] = [];
  if (message.contentUpdate) kinds.push('content');
  if (message.propertyUpdate) kinds.push('property');
  return kinds.join(',');
}

/**
 * One delivery → one FCM v1 data message (CONTRACT §4). A data message, not a notification: the
 * client app syncs in the background and decides itself whether anything is worth showing.
 * `android.ttl` is in milliseconds here; firebase-admin turns it into the `"<seconds>s"` duration.
 * Web Push urgencies below `high` all map to `normal`, FCM's only other Android priority.
 */
export function buildFcmMessage(d: PushDelivery): TokenMessage {
  const sub = d.registration.subscription;
  if (sub.type !== 'fcm') throw new Error(`buildFcmMessage got a ${sub.type} registration`);
  const data: Record<string, string> = {};
  if (d.message.topic !== undefined) data.topic = d.message.topic;
  data.changes = changesOf(d.message);
  const syncToken = d.message.contentUpdate?.syncToken;
  if (syncToken !== undefined) data.sync_token = syncToken;
  data.push_message = d.payload;
  const ttlSeconds = Number.isFinite(d.ttlSeconds) ? Math.min(Math.max(Math.floor(d.ttlSeconds), 0), FCM_MAX_TTL_SECONDS) : 0;
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
