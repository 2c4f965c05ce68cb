import type { Element } from '@xmldom/xmldom';
import { ValidationError } from '@davpush/domain';
import { CC_PUSH_NS } from '../namespaces';
import { children, MAX_PUSH_REGISTER_BYTES, parseBounded, single, textOf } from '../push-register.parser';
import { elementChildren } from '../xml-reader';

/** A client's CC/CD 70025 `subscribe` request, values as sent (trimmed). */
export interface CcSubscribeRequest {
  topics: string[];
  transportUri: string;
  clientData: string;
  expires: string;
}

/** More topics than any user has collections; bounds the all-or-nothing check and the error list. */
export const MAX_SUBSCRIBE_TOPICS = 256;

/**
 * Reads the client's `subscribe` document (draft-gajda-dav-push-00 §5.2.3.2 and §6.2.2.1):
 *
 *   <!ELEMENT subscribe (topic+, selected-transport, expires)>
 *   <!ELEMENT selected-transport (transport-uri, client-data)>
 *
 * in namespace `urn:ietf:params:xml:ns:dav-push`, any prefix or a default namespace. Leniency
 * (docs/cc70025.md): `transport` is read where `selected-transport` is meant (the JSON example's
 * spelling, §5.3), elements of other namespaces are ignored, and the order of children is free.
 * The same limits as `push-register` apply: no DOCTYPE or entities, 16 KiB, 32 levels.
 *
 * @throws ValidationError naming what is missing, doubled or malformed; the topics themselves are
 *   judged by the caller (all-or-nothing `invalid-topics`).
 */
export function parseCcSubscribe(xml: string): CcSubscribeRequest {
  if (Buffer.byteLength(xml, 'utf8') > MAX_PUSH_REGISTER_BYTES) {
    throw new ValidationError(`subscribe body exceeds ${MAX_PUSH_REGISTER_BYTES / 1024} KiB`);
  }
  const root = parseBounded(xml);
  if (root.namespaceURI !== CC_PUSH_NS || root.localName !== 'subscribe') {
    const got = root.namespaceURI ? `{${root.namespaceURI}}${root.localName}` : root.localName;
    throw new ValidationError(`root element must be subscribe in namespace ${CC_PUSH_NS}, not ${got}`);
  }
  const topics = children(root, CC_PUSH_NS, 'topic').map((el) => (el.textContent ?? '').trim());
  if (topics.length === 0) throw new ValidationError('subscribe must name at least one topic');
  if (topics.length > MAX_SUBSCRIBE_TOPICS)
    throw new ValidationError(`subscribe names more than ${MAX_SUBSCRIBE_TOPICS} topics`);
  const transport = selectedTransport(root);
  return {
    topics,
    transportUri: required(transport, 'transport-uri', 'selected-transport'),
    clientData: required(transport, 'client-data', 'selected-transport'),
    expires: required(root, 'expires', 'subscribe'),
  };
}

function selectedTransport(root: Element): Element {
  const found = [...children(root, CC_PUSH_NS, 'selected-transport'), ...children(root, CC_PUSH_NS, 'transport')];
  if (found.length === 0) throw new ValidationError('subscribe must contain selected-transport');
  if (found.length > 1) throw new ValidationError('subscribe must contain exactly one selected-transport');
  return found[0]!;
}

function required(parent: Element, name: string, where: string): string {
  const el = single(parent, CC_PUSH_NS, name);
  if (!el) throw new ValidationError(`${where} must contain ${name}`);
  if (elementChildren(el).length > 0) throw new ValidationError(`${name} must contain text only`);
  const value = textOf(el)!;
  if (value === '') throw new ValidationError(`${name} is empty`);
  return value;
}
