import { create } from 'xmlbuilder2';
import type { Precondition } from '@davpush/domain';
import { CC_PUSH_NS, DAV_NS } from '../namespaces';
import { lenientText } from '../xml-writer';

/**
 * The `403` body of a `subscribe` that named topics the user cannot subscribe to
 * (draft-gajda-dav-push-00 §5.2.3.2 and the `invalid-topics` precondition of §6.2.2; RFC 4918 §16):
 *
 *   <D:error xmlns:D="DAV:" xmlns:P="urn:ietf:params:xml:ns:dav-push">
 *     <P:invalid-topics><P:topic>123</P:topic>…</P:invalid-topics>
 *     <D:responsedescription>why</D:responsedescription></D:error>
 *
 * Topics are written leniently (characters XML cannot carry become U+FFFD): an error answer must
 * always be buildable, even for the topic that was refused for carrying them.
 */
export function buildInvalidTopicsError(topics: readonly string[], description?: string): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const error = doc.ele(DAV_NS, 'D:error', { 'xmlns:D': DAV_NS, 'xmlns:P': CC_PUSH_NS });
  const list = error.ele(CC_PUSH_NS, 'P:invalid-topics');
  for (const topic of topics) lenientText(list.ele(CC_PUSH_NS, 'P:topic'), topic);
  if (description !== undefined) lenientText(error.ele(DAV_NS, 'D:responsedescription'), description);
  return doc.end({ prettyPrint: false });
}

/**
 * The `403` body of any other refused `subscribe` (RFC 4918 §16), the condition element in the
 * draft's namespace so a CC/CD 70025 client finds it where it looks: the draft defines no condition
 * but `invalid-topics` (§6.2.2), so the names are davpush's own preconditions (docs/cc70025.md):
 * `invalid-subscription` (client-data refused) and `push-not-available` (transport not offered,
 * or a registration limit reached).
 *
 *   <D:error xmlns:D="DAV:" xmlns:P="urn:ietf:params:xml:ns:dav-push"><P:push-not-available/>
 *     <D:responsedescription>why</D:responsedescription></D:error>
 */
export function buildCcPreconditionError(precondition: Precondition, description?: string): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const error = doc.ele(DAV_NS, 'D:error', { 'xmlns:D': DAV_NS, 'xmlns:P': CC_PUSH_NS });
  error.ele(CC_PUSH_NS, `P:${precondition}`);
  if (description !== undefined) lenientText(error.ele(DAV_NS, 'D:responsedescription'), description);
  return doc.end({ prettyPrint: false });
}
