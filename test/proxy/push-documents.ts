import { DOMParser } from '@xmldom/xmldom';
import type { FakePushService, PushRecord } from '../support/fake-push-service';

const P = 'https://bitfire.at/webdav-push';

/** What a decrypted push-message says (draft §"Push Message"). */
export interface PushMessage {
  topic?: string;
  contentUpdate: boolean;
  syncToken?: string;
  propertyUpdate: boolean;
}

export function readPush(push: FakePushService, record: PushRecord): PushMessage {
  const doc = new DOMParser().parseFromString(push.decryptRecord(record), 'application/xml');
  const content = doc.getElementsByTagNameNS(P, 'content-update')[0];
  return {
    topic: doc.getElementsByTagNameNS(P, 'topic')[0]?.textContent ?? undefined,
    contentUpdate: !!content,
    syncToken: content?.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
    propertyUpdate: doc.getElementsByTagNameNS(P, 'property-update').length > 0,
  };
}

export function topicIn(multistatus: string): string {
  const doc = new DOMParser().parseFromString(multistatus, 'application/xml');
  return doc.getElementsByTagNameNS(P, 'topic')[0]!.textContent!;
}

export function syncTokenIn(multistatus: string): string | undefined {
  const doc = new DOMParser().parseFromString(multistatus, 'application/xml');
  return doc.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
