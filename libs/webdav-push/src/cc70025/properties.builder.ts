import { create } from 'xmlbuilder2';
import type { CcTransport } from '@davpush/domain';
import { CC_PUSH_NS, DAV_NS, DAVPUSH_NS } from '../namespaces';
import { text, type XMLBuilder } from '../xml-writer';

/** The protocol version davpush speaks (draft-gajda-dav-push-00 §6.2.1.8 `push-version`). */
const CC_PUSH_VERSION = '1';

export interface CcDiscoveryInput {
  /** Absolute URL the client POSTs its `subscribe` document to. */
  subscribeUrl: string;
  topic: string;
  transports: readonly CcTransport[];
}

/** Serialized property elements, each standalone (own `xmlns`), in the spelling of the definitions. */
export interface CcDiscoveryProperties {
  pushSubscribeUrl: string;
  supportedTransportSet: string;
  topic: string;
  pushVersion: string;
}

type CcProperty = keyof CcDiscoveryProperties;

/**
 * Property names a PROPFIND may ask for, in either spelling of the draft: the definitions (§6.2.1.1
 * `push-subscribe-URL`, §6.2.1.8 `push-version`) and the examples of §5.2.3.1 (`subscribe-URL`,
 * `version`). Local names in {@link CC_PUSH_NS}.
 */
export const CC_PROPERTY_NAMES: Readonly<Record<string, CcProperty>> = {
  'push-subscribe-URL': 'pushSubscribeUrl',
  'subscribe-URL': 'pushSubscribeUrl',
  'supported-transport-set': 'supportedTransportSet',
  topic: 'topic',
  'push-version': 'pushVersion',
  version: 'pushVersion',
};

const DEFINITION_NAMES: Record<CcProperty, string> = {
  pushSubscribeUrl: 'push-subscribe-URL',
  supportedTransportSet: 'supported-transport-set',
  topic: 'topic',
  pushVersion: 'push-version',
};

/**
 * The four CC/CD 70025 WebDAV properties of a push-capable resource (draft-gajda-dav-push-00
 * §5.2.3.1 and §6.2.1), ready to embed in a PROPFIND answer's `D:prop`, in the spelling of the
 * definitions (docs/cc70025.md):
 *
 *   <push-subscribe-URL xmlns="urn:ietf:params:xml:ns:dav-push" xmlns:D="DAV:"><D:href>…</D:href></push-subscribe-URL>
 *   <supported-transport-set xmlns="urn:…:dav-push"><transport><transport-uri>…</transport-uri>
 *     <transport-data>…</transport-data><refresh-interval>172800</refresh-interval></transport>…</supported-transport-set>
 *   <topic xmlns="urn:…:dav-push">…</topic>
 *   <push-version xmlns="urn:…:dav-push">1</push-version>
 *
 * `transport` always carries all three children (the DTD of §6.2.1.3 makes them a sequence);
 * `transport-data` holds one text-only element per entry of the flat JSON map, in
 * {@link DAVPUSH_NS} (the data is defined by davpush's transports, not by the draft).
 * @throws ValidationError when a value contains characters XML cannot carry.
 */
export function buildCcDiscoveryProperties(input: CcDiscoveryInput): CcDiscoveryProperties {
  return {
    pushSubscribeUrl: buildCcProperty('push-subscribe-URL', input)!,
    supportedTransportSet: buildCcProperty('supported-transport-set', input)!,
    topic: buildCcProperty('topic', input)!,
    pushVersion: buildCcProperty('push-version', input)!,
  };
}

/**
 * One property under the local name a PROPFIND asked for (either spelling of
 * {@link CC_PROPERTY_NAMES}: a multistatus answers with the names requested, RFC 4918 §9.1), or
 * undefined when the name is not a CC/CD 70025 property. For proxy mode's PROPFIND rewriting.
 */
export function buildCcProperty(localName: string, input: CcDiscoveryInput): string | undefined {
  const property = Object.hasOwn(CC_PROPERTY_NAMES, localName) ? CC_PROPERTY_NAMES[localName] : undefined;
  if (!property) return undefined;
  return standalone((doc) => {
    switch (property) {
      case 'pushSubscribeUrl':
        return text(
          doc.ele(CC_PUSH_NS, localName, { 'xmlns:D': DAV_NS }).ele(DAV_NS, 'D:href'),
          input.subscribeUrl,
          'subscribe URL',
        );
      case 'supportedTransportSet':
        return transportSet(doc.ele(CC_PUSH_NS, localName), input.transports);
      case 'topic':
        return text(doc.ele(CC_PUSH_NS, localName), input.topic, 'topic');
      case 'pushVersion':
        return doc.ele(CC_PUSH_NS, localName).txt(CC_PUSH_VERSION);
    }
  });
}

/** The definition spelling of a property asked for in either spelling (undefined if not ours). */
export const ccPropertyDefinitionName = (localName: string): string | undefined =>
  Object.hasOwn(CC_PROPERTY_NAMES, localName) ? DEFINITION_NAMES[CC_PROPERTY_NAMES[localName]!] : undefined;

function transportSet(set: XMLBuilder, transports: readonly CcTransport[]): void {
  for (const t of transports) {
    const el = set.ele(CC_PUSH_NS, 'transport');
    text(el.ele(CC_PUSH_NS, 'transport-uri'), t.transportUri, 'transport-uri');
    const data = el.ele(CC_PUSH_NS, 'transport-data');
    const entries = Object.entries(t.transportData);
    if (entries.length > 0) data.att('xmlns:X', DAVPUSH_NS);
    for (const [name, value] of entries) text(data.ele(DAVPUSH_NS, `X:${name}`), value, name);
    el.ele(CC_PUSH_NS, 'refresh-interval').txt(String(t.refreshInterval));
  }
}

function standalone(fill: (doc: XMLBuilder) => unknown): string {
  const doc = create();
  fill(doc);
  return doc.end({ headless: true, prettyPrint: false });
}
