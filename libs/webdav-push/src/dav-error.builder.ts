import { create } from 'xmlbuilder2';
import type { Precondition } from '@davpush/domain';
import { DAV_NS, WEBDAV_PUSH_NS } from './namespaces';
import { lenientText, type XMLBuilder } from './xml-writer';

/**
 * Precondition element names per {@link Precondition}. The draft's prose calls the trigger failure
 * `no-supported-trigger` while its RNG schema spells it `no-trigger-supported` (draft text and `xml/webdav-push.rng` in https://github.com/bitfireAT/webdav-push; and
 * §10 Q1); clients match either, so both are sent (DAV:error may carry several conditions, RFC 4918
 * §16).
 */
const PRECONDITION_ELEMENTS: Record<Precondition, readonly string[]> = {
  'invalid-subscription': ['invalid-subscription'],
  'no-supported-trigger': ['no-supported-trigger', 'no-trigger-supported'],
  'push-not-available': ['push-not-available'],
};

/**
 * The `403` body of a failed WebDAV-Push precondition (draft §"Subscription Registration" responses,
 * RFC 4918 §16):
 *
 *   <D:error xmlns:D="DAV:" xmlns:P="https://bitfire.at/webdav-push"><P:invalid-subscription/>
 *     <D:responsedescription>why</D:responsedescription></D:error>
 */
export function buildDavError(precondition: Precondition, description?: string): string {
  return errorDocument((error) => {
    for (const name of PRECONDITION_ELEMENTS[precondition]) error.ele(WEBDAV_PUSH_NS, `P:${name}`);
    if (description !== undefined) describe(error, description);
  }, true);
}

/** A `DAV:error` with only a human-readable description, for 4xx answers that are no precondition. */
export function buildDavErrorMessage(description: string): string {
  return errorDocument((error) => describe(error, description), false);
}

function errorDocument(fill: (error: XMLBuilder) => void, declarePushNs: boolean): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const attrs: Record<string, string> = { 'xmlns:D': DAV_NS };
  if (declarePushNs) attrs['xmlns:P'] = WEBDAV_PUSH_NS;
  fill(doc.ele(DAV_NS, 'D:error', attrs));
  return doc.end({ prettyPrint: false });
}

function describe(error: XMLBuilder, description: string): void {
  lenientText(error.ele(DAV_NS, 'D:responsedescription'), description);
}
