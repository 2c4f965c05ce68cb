export type Transport = 'web-push' | 'fcm';
export const TRANSPORTS: readonly Transport[] = ['web-push', 'fcm'];

export interface WebPushSubscription {
  type: 'web-push';
  /** RFC 8030 push resource: absolute https URL. */
  pushResource: string;
  /** RFC 8291 `p256dh`: uncompressed P-256 point, base64url (65 bytes). */
  publicKey: string;
  /** RFC 8291 auth secret, base64url (16 bytes). */
  authSecret: string;
  contentEncoding: 'aes128gcm';
}

export interface FcmSubscription {
  type: 'fcm';
  token: string;
}

export type Subscription = WebPushSubscription | FcmSubscription;

/** The identity that makes a re-registration an update (draft: same push resource + same resource). */
export function subscriptionIdentity(s: Subscription): string {
  return s.type === 'web-push' ? `web-push ${s.pushResource}` : `fcm ${s.token}`;
}
