/**
 * Shared by the builders (internal, not exported from the library). Every value from a tenant or
 * client goes in through {@link text} or {@link propElement}, never by string concatenation.
 */
import type { create } from 'xmlbuilder2';
import { ValidationError } from '@davpush/domain';
import { DAV_NS, WEBDAV_PUSH_NS } from './namespaces';

export type XMLBuilder = ReturnType<typeof create>;

/** XML 1.0 §2.2 `Char`: control characters and lone surrogates cannot be written at all. */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** XML Namespaces §3 `NCName` (Unicode letters, digits and the name punctuation, no colon). */
const NCNAME = /^[\p{L}_][\p{L}\p{N}\p{Mn}\p{Mc}_.\-\u00B7\u203F\u2040]*$/u;

/**
 * Writes text so that a reader gets back exactly `value`.
 *
 * Two xmlbuilder2 habits make its `txt()` unsafe for data on its own: it silently drops characters
 * XML cannot carry, and it leaves any `&` that already looks like a reference (`&amp;`, `&#60;`,
 * `&foo;`) unescaped, so `&amp;` would read back as `&` and `&foo;` would make the document
 * malformed. A topic or sync-token that changed on the way is worse than a refusal, so refuse the
 * former, and escape every `&` first (xmlbuilder2 then leaves our `&amp;` alone).
 */
export function text(parent: XMLBuilder, value: string, what: string): XMLBuilder {
  if (NOT_XML_CHAR.test(value)) throw new ValidationError(`${what} contains characters that XML cannot carry`);
  return parent.txt(escapeAmpersands(value));
}

/**
 * For our own diagnostics (which may quote client input): replace what XML cannot carry with U+FFFD
 * instead of throwing, because an error answer must always be buildable.
 */
export function lenientText(parent: XMLBuilder, value: string): XMLBuilder {
  return parent.txt(escapeAmpersands(value.replace(new RegExp(NOT_XML_CHAR.source, 'gu'), '\uFFFD')));
}

const escapeAmpersands = (value: string): string => value.replace(/&/g, '&amp;');

/**
 * {@link text}'s value as serialized character data, for a value spliced into a document that
 * xmlbuilder2 built around a placeholder: exactly what `text()` then `end()` write (our `&amp;`,
 * then xmlbuilder2's `&lt;` and `&gt;`; tested against it in push-message.builder.spec.ts).
 * @throws ValidationError as {@link text}.
 */
export function textContent(value: string, what: string): string {
  if (NOT_XML_CHAR.test(value)) throw new ValidationError(`${what} contains characters that XML cannot carry`);
  return escapeAmpersands(value).replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface QName {
  namespace: string | null;
  localName: string;
}

/** Clark notation (`{DAV:}displayname`, or `displayname` for no namespace) as the domain stores props. */
function parseClarkName(name: string): QName {
  let namespace: string | null = null;
  let localName = name;
  if (name.startsWith('{')) {
    // A local name cannot contain `}`, a namespace URI can: split at the last one.
    const close = name.lastIndexOf('}');
    if (close < 0)
      throw new ValidationError(`property name ${JSON.stringify(name.slice(0, 64))} is not in Clark notation`);
    namespace = name.slice(1, close) || null;
    localName = name.slice(close + 1);
  }
  if (!NCNAME.test(localName)) {
    throw new ValidationError(`property name ${JSON.stringify(name.slice(0, 64))} is not a valid XML name`);
  }
  // xmlbuilder2 writes namespace URIs without escaping `&` (see text() above); no real property
  // namespace contains one, so refuse rather than emit a different namespace.
  if (namespace !== null && (namespace.includes('&') || NOT_XML_CHAR.test(namespace))) {
    throw new ValidationError(
      `property name ${JSON.stringify(name.slice(0, 64))} has a namespace that cannot be written`,
    );
  }
  return { namespace, localName };
}

/**
 * An empty element named by a Clark name. DAV: uses the `D:` prefix the enclosing document declares,
 * WebDAV-Push the enclosing default namespace; any other namespace gets its own `xmlns` on the
 * element (and no namespace an `xmlns=""`), which xmlbuilder2 emits.
 */
export function propElement(parent: XMLBuilder, name: string): XMLBuilder {
  const { namespace, localName } = parseClarkName(name);
  if (namespace === DAV_NS) return parent.ele(DAV_NS, `D:${localName}`);
  if (namespace === WEBDAV_PUSH_NS) return parent.ele(WEBDAV_PUSH_NS, localName);
  return parent.ele(namespace, localName);
}
