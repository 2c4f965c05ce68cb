import { DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';
import { CC_PROPERTY_NAMES } from './cc70025/properties.builder';
import { CC_PUSH_NS, DAV_NS, WEBDAV_PUSH_NS } from './namespaces';
import { elementChildren, parseBoundedXml } from './xml-reader';

const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';
const CARDDAV_NS = 'urn:ietf:params:xml:ns:carddav';

/** The WebDAV-Push live properties (draft-bitfire-webdav-push-00 §"Service Detection"), as local names. */
const PUSH_PROPERTIES = ['transports', 'topic', 'supported-triggers'] as const;
export type PushProperty = (typeof PUSH_PROPERTIES)[number];

/** A PROPFIND request body is small (DAVx5's largest is under 2 KiB). */
export const MAX_PROPFIND_REQUEST_BYTES = 64 * 1024;
/** A Depth-1 answer of a large home set or address book; beyond this the answer passes unchanged. */
export const MAX_MULTISTATUS_BYTES = 32 * 1024 * 1024;

const REQUEST_LIMITS = {
  what: 'PROPFIND body',
  maxBytes: MAX_PROPFIND_REQUEST_BYTES,
  maxDepth: 32,
  maxTextBytes: 8 * 1024,
};
const ANSWER_LIMITS = {
  what: 'multistatus answer',
  maxBytes: MAX_MULTISTATUS_BYTES,
  maxDepth: 128,
  maxTextBytes: MAX_MULTISTATUS_BYTES,
};

/** How a PROPFIND that asks for push properties is changed on its way to the DAV server. */
export interface PropfindPlan {
  /** Push properties the client asked for, in its order. */
  requested: PushProperty[];
  /**
   * CC/CD 70025 properties (draft-gajda-dav-push-00 §6.2.1, in {@link CC_PUSH_NS}) the client
   * asked for, by the local name it used (either spelling of {@link CC_PROPERTY_NAMES}), in its order.
   */
  requestedCc: string[];
  /** The request body for the DAV server: the push properties removed, `D:resourcetype` added. */
  upstreamBody: string;
  /** `D:resourcetype` was added by the proxy and is removed from the answer again. */
  addedResourcetype: boolean;
}

/**
 * Plans the rewrite of a PROPFIND body (RFC 4918 §9.1). Returns `undefined` when the request goes
 * to the DAV server unchanged: an empty body (allprop), `D:allprop` without a `D:include` naming a
 * push property, `D:propname`, a `D:prop` without push properties, or a body that is not a bounded,
 * well-formed `D:propfind` (the server answers it as it would without the proxy). Push properties
 * are never part of allprop (as in Nextcloud's dav_push: SabreDAV fills only requested properties).
 */
export function planPropfind(body: string): PropfindPlan | undefined {
  if (body.trim() === '') return undefined;
  let doc: Document;
  try {
    doc = parseBoundedXml(body, REQUEST_LIMITS);
  } catch {
    return undefined;
  }
  const root = doc.documentElement!;
  if (root.namespaceURI !== DAV_NS || root.localName !== 'propfind') return undefined;
  const prop = elementChildren(root, DAV_NS, 'prop')[0];
  const include =
    elementChildren(root, DAV_NS, 'allprop').length > 0 ? elementChildren(root, DAV_NS, 'include')[0] : undefined;
  const list = prop ?? include;
  if (!list) return undefined;
  const requested: PushProperty[] = [];
  const requestedCc: string[] = [];
  for (const el of elementChildren(list)) {
    const name = el.localName ?? '';
    if (el.namespaceURI === WEBDAV_PUSH_NS && (PUSH_PROPERTIES as readonly string[]).includes(name)) {
      if (!requested.includes(name as PushProperty)) requested.push(name as PushProperty);
    } else if (el.namespaceURI === CC_PUSH_NS && Object.hasOwn(CC_PROPERTY_NAMES, name)) {
      if (!requestedCc.includes(name)) requestedCc.push(name);
    } else continue;
    list.removeChild(el);
  }
  if (requested.length === 0 && requestedCc.length === 0) return undefined;
  let addedResourcetype = false;
  if (prop && elementChildren(prop, DAV_NS, 'resourcetype').length === 0) {
    prop.appendChild(doc.createElementNS(DAV_NS, qualified(prop, 'resourcetype')));
    addedResourcetype = true;
  }
  if (include && elementChildren(include).length === 0) root.removeChild(include);
  return { requested, requestedCc, upstreamBody: new XMLSerializer().serializeToString(doc), addedResourcetype };
}

/** Serialized, standalone elements (each with its own `xmlns`), e.g. from `buildDiscoveryProperties`. */
export interface PushPropertyValues {
  transports: string;
  topic: string;
  supportedTriggers: string;
  /**
   * The CC/CD 70025 properties by the local name asked for (`buildCcProperty`); needed only when
   * the plan has `requestedCc`.
   */
  cc?: Readonly<Record<string, string>>;
}

/**
 * Puts the requested push properties into a PROPFIND answer (RFC 4918 §9.1, `207` multistatus):
 * for every `D:response` whose `D:resourcetype` is a calendar (RFC 4791) or an address book
 * (RFC 6352), their values go into the `HTTP/1.1 200 OK` propstat (created when missing); every
 * other resource lists them empty in a `404 Not Found` propstat, as the draft wants `topic` and
 * `supported-triggers` absent elsewhere. A `D:resourcetype` the proxy added is removed, and so are
 * propstats left empty; status-only responses stay as they are. Everything else is left as the
 * DAV server wrote it (elements, prefixes, namespace declarations).
 *
 * @param valuesFor the values for a push-capable resource, by its `D:href` text; `undefined`
 *   treats the resource as not push-capable.
 * @param opts.minimal the client sent `Prefer: return=minimal` (RFC 8144 §2.1): no 404 propstats.
 * @returns the new document, or `undefined` when `xml` is no bounded, well-formed multistatus
 *   (the answer is then passed on unchanged).
 */
export function rewriteMultistatus(
  xml: string,
  plan: PropfindPlan,
  valuesFor: (href: string) => PushPropertyValues | undefined,
  opts: { minimal?: boolean } = {},
): string | undefined {
  let doc: Document;
  try {
    doc = parseBoundedXml(xml, ANSWER_LIMITS);
  } catch {
    return undefined;
  }
  const root = doc.documentElement!;
  if (root.namespaceURI !== DAV_NS || root.localName !== 'multistatus') return undefined;
  for (const response of elementChildren(root, DAV_NS, 'response')) {
    const propstats = elementChildren(response, DAV_NS, 'propstat');
    if (propstats.length === 0) continue;
    const href = (elementChildren(response, DAV_NS, 'href')[0]?.textContent ?? '').trim();
    const values = isPushCapable(propstats) ? valuesFor(href) : undefined;
    if (values || !opts.minimal) {
      const target = values ? propstatFor(doc, response, propstats, 200) : propstatFor(doc, response, propstats, 404);
      const targetProp = elementChildren(target, DAV_NS, 'prop')[0]!;
      for (const name of plan.requested) {
        targetProp.appendChild(
          values ? fragment(doc, valueOf(values, name)) : doc.createElementNS(WEBDAV_PUSH_NS, name),
        );
      }
      for (const name of plan.requestedCc) {
        const value = values?.cc?.[name];
        targetProp.appendChild(value ? fragment(doc, value) : doc.createElementNS(CC_PUSH_NS, name));
      }
    }
    for (const ps of elementChildren(response, DAV_NS, 'propstat')) {
      const prop = elementChildren(ps, DAV_NS, 'prop')[0];
      if (plan.addedResourcetype && prop)
        for (const rt of elementChildren(prop, DAV_NS, 'resourcetype')) prop.removeChild(rt);
      if (!prop || elementChildren(prop).length === 0) response.removeChild(ps);
    }
    // RFC 4918 §14.24: a response needs a propstat (or a status). When minimal left none, the push
    // properties are listed as not found after all.
    if (elementChildren(response, DAV_NS, 'propstat').length === 0) {
      const prop = elementChildren(propstatFor(doc, response, [], 404), DAV_NS, 'prop')[0]!;
      for (const name of plan.requested) prop.appendChild(doc.createElementNS(WEBDAV_PUSH_NS, name));
    }
  }
  return new XMLSerializer().serializeToString(doc);
}

function isPushCapable(propstats: Element[]): boolean {
  for (const ps of propstats) {
    if (statusCode(ps) !== 200) continue;
    for (const prop of elementChildren(ps, DAV_NS, 'prop')) {
      for (const rt of elementChildren(prop, DAV_NS, 'resourcetype')) {
        if (
          elementChildren(rt, CALDAV_NS, 'calendar').length > 0 ||
          elementChildren(rt, CARDDAV_NS, 'addressbook').length > 0
        )
          return true;
      }
    }
  }
  return false;
}

/** RFC 4918 §14.28 status-line: `HTTP/1.1 200 OK` → 200. */
function statusCode(propstat: Element): number | undefined {
  const status = elementChildren(propstat, DAV_NS, 'status')[0]?.textContent ?? '';
  const m = /^\s*HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(status);
  return m ? Number(m[1]) : undefined;
}

/** The response's propstat with `code`, or a new one (with the response's own DAV: prefix). */
function propstatFor(doc: Document, response: Element, propstats: Element[], code: 200 | 404): Element {
  const found = propstats.find((ps) => statusCode(ps) === code && elementChildren(ps, DAV_NS, 'prop').length > 0);
  if (found) return found;
  const ps = doc.createElementNS(DAV_NS, qualified(response, 'propstat'));
  ps.appendChild(doc.createElementNS(DAV_NS, qualified(response, 'prop')));
  const status = doc.createElementNS(DAV_NS, qualified(response, 'status'));
  status.appendChild(doc.createTextNode(code === 200 ? 'HTTP/1.1 200 OK' : 'HTTP/1.1 404 Not Found'));
  ps.appendChild(status);
  // RFC 4918 §14.24: propstat elements come after href (and before error/responsedescription).
  const after = elementChildren(response).find(
    (el) => el.namespaceURI === DAV_NS && el.localName !== 'href' && el.localName !== 'propstat',
  );
  response.insertBefore(ps, after ?? null);
  return ps;
}

/** A new DAV: element name with the same prefix as `sibling` (so the document stays uniform). */
function qualified(sibling: Element, localName: string): string {
  return sibling.prefix ? `${sibling.prefix}:${localName}` : localName;
}

function valueOf(values: PushPropertyValues, name: PushProperty): string {
  return name === 'transports' ? values.transports : name === 'topic' ? values.topic : values.supportedTriggers;
}

const fragments = new Map<string, Element>();

/** Parses a trusted serialized element once (bounded cache) and imports a copy into `doc`. */
function fragment(doc: Document, xml: string): Element {
  let el = fragments.get(xml);
  if (!el) {
    el = new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
    if (fragments.size >= 1000) fragments.clear();
    fragments.set(xml, el);
  }
  return doc.importNode(el, true) as Element;
}
