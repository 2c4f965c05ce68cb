import { randomUUID } from 'node:crypto';
import { create } from 'xmlbuilder2';
import { ValidationError, withoutSyncToken, type PushMessage } from '@davpush/domain';
import { DAV_NS, WEBDAV_PUSH_NS } from './namespaces';
import { propElement, text, textContent } from './xml-writer';

/** Stands for the sync-token in a cached document; no topic or prop name holds it. */
const TOKEN_MARK = `t${randomUUID().replace(/-/g, '')}`;
const TEMPLATES_MAX = 4096;
/** Documents by shape (topic, prop names, whether a sync-token goes in), split where the token goes. */
const templates = new Map<string, readonly string[]>();

/**
 * The WebDAV-Push `push-message` (WebDAV-Push draft, "Push Message": https://github.com/bitfireAT/webdav-push):
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
  // Each change of a topic makes a message that differs only in its sync-token: its document is
  // built once (xmlbuilder2 is a fair share of a small fan-out's CPU) and the token spliced in.
  const token = m.contentUpdate?.syncToken;
  const key = JSON.stringify([
    m.topic ?? null,
    !!m.contentUpdate,
    token !== undefined,
    m.propertyUpdate ? (m.propertyUpdate.props ?? []) : null,
  ]);
  let parts = templates.get(key);
  if (!parts) {
    const built = buildDocument(token === undefined ? m : { ...m, contentUpdate: { syncToken: TOKEN_MARK } });
    parts = built.split(TOKEN_MARK);
    // Anything but exactly one mark (a topic that holds it) is built every time instead.
    if (parts.length !== (token === undefined ? 1 : 2)) return buildDocument(m);
    if (templates.size >= TEMPLATES_MAX) templates.delete(templates.keys().next().value!);
    templates.set(key, parts);
  }
  return token === undefined ? parts[0]! : parts[0]! + textContent(token, 'sync-token') + parts[1]!;
}

function buildDocument(m: PushMessage): string {
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

/** A push-message and its encoding, as it will be sent. */
export interface FittedPushMessage {
  message: PushMessage;
  payload: string;
  /** True when the sync-token was left out to make it fit. */
  shrunk: boolean;
}

/** A message that cannot be made to fit its transport; the caller must not send it. */
export class PushMessageTooLargeError extends ValidationError {
  constructor(
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`the push-message is ${bytes} bytes, over the limit of ${limit} even without its sync-token`);
  }
}

/**
 * {@link buildPushMessage}, kept within `maxBytes` of UTF-8 (the Web Push limit is
 * WEB_PUSH_MAX_PLAINTEXT_BYTES). Deterministic: a message that does not fit is built again without
 * its sync-token (XML escaping counted: `&` becomes five bytes), and nothing else is ever dropped.
 *
 * @throws PushMessageTooLargeError when even that is too large; ValidationError as buildPushMessage.
 */
export function buildPushMessageWithin(m: PushMessage, maxBytes: number): FittedPushMessage {
  const payload = buildPushMessage(m);
  if (Buffer.byteLength(payload, 'utf8') <= maxBytes) return { message: m, payload, shrunk: false };
  const smaller = withoutSyncToken(m);
  const second = smaller === m ? payload : buildPushMessage(smaller);
  const bytes = Buffer.byteLength(second, 'utf8');
  if (bytes > maxBytes) throw new PushMessageTooLargeError(bytes, maxBytes);
  return { message: smaller, payload: second, shrunk: true };
}
