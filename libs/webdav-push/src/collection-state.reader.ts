import { DAV_NS } from './namespaces';
import { elementChildren, parseBoundedXml } from './xml-reader';

const CALDAV_NS = 'urn:ietf:params:xml:ns:caldav';
const CARDDAV_NS = 'urn:ietf:params:xml:ns:carddav';
const CALENDARSERVER_NS = 'http://calendarserver.org/ns/';

/** The body of the Depth-0 PROPFIND the proxy sends to learn a collection's type and version. */
export const COLLECTION_STATE_PROPFIND =
  '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:sync-token/><CS:getctag/></D:prop></D:propfind>';

export interface CollectionState {
  /** A calendar (RFC 4791) or an address book (RFC 6352). */
  pushCapable: boolean;
  /** `DAV:sync-token` (RFC 6578 §4) exactly as the server wrote it, trimmed. */
  syncToken?: string;
  /** `CS:getctag` (calendarserver.org ctag extension), for servers without sync-tokens. */
  ctag?: string;
}

/**
 * Reads the first `D:response` of the answer to {@link COLLECTION_STATE_PROPFIND}: properties only
 * from propstats with status 200.
 *
 * @returns undefined when the answer is no well-formed multistatus with a response.
 */
export function readCollectionState(xml: string): CollectionState | undefined {
  let root;
  try {
    root = parseBoundedXml(xml, {
      what: 'multistatus answer',
      maxBytes: 1024 * 1024,
      maxDepth: 64,
      maxTextBytes: 64 * 1024,
    }).documentElement!;
  } catch {
    return undefined;
  }
  if (root.namespaceURI !== DAV_NS || root.localName !== 'multistatus') return undefined;
  const response = elementChildren(root, DAV_NS, 'response')[0];
  if (!response) return undefined;
  const state: CollectionState = { pushCapable: false };
  for (const ps of elementChildren(response, DAV_NS, 'propstat')) {
    const status = elementChildren(ps, DAV_NS, 'status')[0]?.textContent ?? '';
    if (!/^\s*HTTP\/\d(?:\.\d)?\s+200\b/.test(status)) continue;
    for (const prop of elementChildren(ps, DAV_NS, 'prop')) {
      for (const rt of elementChildren(prop, DAV_NS, 'resourcetype')) {
        if (
          elementChildren(rt, CALDAV_NS, 'calendar').length > 0 ||
          elementChildren(rt, CARDDAV_NS, 'addressbook').length > 0
        )
          state.pushCapable = true;
      }
      const token = elementChildren(prop, DAV_NS, 'sync-token')[0]?.textContent?.trim();
      if (token) state.syncToken = token;
      const ctag = elementChildren(prop, CALENDARSERVER_NS, 'getctag')[0]?.textContent?.trim();
      if (ctag) state.ctag = ctag;
    }
  }
  return state;
}
