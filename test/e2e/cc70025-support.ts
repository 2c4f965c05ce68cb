import { DOMParser } from '@xmldom/xmldom';
import type { FakePushService } from '../support/fake-push-service';
import type { WebPushClient } from '../support/webpush-client';
import type { Harness } from './harness';

/** Test support for the CC/CD 70025 gateway tests (draft-gajda-dav-push-00). */

export const CC = 'urn:ietf:params:xml:ns:dav-push';
export const WP = 'https://bitfire.at/webdav-push';

/** An RFC 3339 timestamp `s` seconds from now, whole seconds, as an application server writes it. */
export const inSeconds = (s: number): string => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The decrypted WebDAV-Push push-message, as a client reads it. */
export function pushMessage(xml: string) {
  const root = new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
  return {
    root: `{${root.namespaceURI}}${root.localName}`,
    topic: root.getElementsByTagNameNS(WP, 'topic')[0]?.textContent,
    syncToken: root.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
  };
}

/** Web Push client-data: the Push API's PushSubscription.toJSON(), optionally with a client id. */
export const webPushData = (c: WebPushClient, clientId?: string): string =>
  JSON.stringify({ ...c.subscription, expirationTime: null, ...(clientId ? { 'client-id': clientId } : {}) });

/** POST /v1/gateway as an application server does. */
export const gatewayCall = (h: Harness, key: string, body: unknown, headers: Record<string, string> = {}) =>
  h.request('POST', '/v1/gateway', {
    token: key,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });

/** What one Web Push client received for one topic. */
export const receivedFor = (push: FakePushService, c: WebPushClient, topic: string) =>
  push.received(push.idOf(c)).filter((r) => pushMessage(c.decrypt(r.body)).topic === topic);
