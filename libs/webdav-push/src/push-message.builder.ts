import { create } from 'xmlbuilder2';
import type { PushMessage } from '@davpush/domain';
import { DAV_NS, WEBDAV_PUSH_NS } from './namespaces';
import { propElement, text } from './xml-writer';

/**
 * The WebDAV-Push `push-message` (draft §"Push message", reference §1.5; CONTRACT.md §4):
 *
 *   <push-message xmlns="https://bitfire.at/webdav-push" xmlns:D="DAV:">
 *     <topic>T</topic>
 *     <content-update><D:sync-token>S</D:sync-token></content-update>
 *     <property-update/>
 *   </push-message>
 *
 * `topic` is left out only in the VAPID key-rotation message, whose property-update lists
 * `<D:prop><transports/></D:prop>` (draft §"VAPID key rotation"). The default namespace is the
 * WebDAV-Push one because DAVx5 and the draft's samples use it; namespace-aware readers do not care.
 *
 * Compact on purpose: it is encrypted into a single 4096-byte Web Push record (RFC 8291 §4 leaves
 * 3993 bytes of plaintext) and sent as an FCM data value, so no pretty-printing whitespace.
 *
 * @throws ValidationError if a value contains characters XML cannot carry or a prop is not a valid name.
 */
export function buildPushMessage(m: PushMessage): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = doc.ele(WEBDAV_PUSH_NS, 'push-message', { 'xmlns:D': DAV_NS });
  if (m.topic !== undefined) text(root.ele(WEBDAV_PUSH_NS, 'topic'), m.topic, 'topic');
  if (m.contentUpdate) {
    const content = root.ele(WEBDAV_PUSH_NS, 'content-update');
    // The sync-token lets a client that is already current skip the sync (draft: SHOULD carry it).
    if (m.contentUpdate.syncToken !== undefined) {
      text(content.ele(DAV_NS, 'D:sync-token'), m.contentUpdate.syncToken, 'sync-token');
    }
  }
  if (m.propertyUpdate) {
    const property = root.ele(WEBDAV_PUSH_NS, 'property-update');
    const props = m.propertyUpdate.props ?? [];
    if (props.length > 0) {
      const prop = property.ele(DAV_NS, 'D:prop');
      for (const name of props) propElement(prop, name);
    }
  }
  return doc.end({ prettyPrint: false });
}
