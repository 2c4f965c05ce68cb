import { createHmac } from 'node:crypto';

/**
 * The canonical form of a collection path, so that every URL alias of one collection yields the
 * same topic: percent-decoded per segment (RFC 3986 §2.1; a malformed escape stays as written),
 * empty and `.` segments dropped, `..` resolved (RFC 3986 §5.2.4), one leading and one trailing
 * slash. The query and fragment are not part of a path and must be removed by the caller.
 *
 *     canonicalCollectionPath('/alice//%63al/./x/../') === '/alice/cal/'
 */
export function canonicalCollectionPath(path: string): string {
  const out: string[] = [];
  for (const raw of path.split('/')) {
    let segment = raw;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      /* a malformed escape is kept verbatim */
    }
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out.length === 0 ? '/' : `/${out.join('/')}/`;
}

/**
 * The proxy's topic of a collection: `base64url(HMAC-SHA256(key, upstreamId "\n" canonicalPath))`,
 * first 22 characters (128 bits). Opaque (no user or collection name can be read from it, as the
 * CalConnect push draft asks of topics), stable (no storage needed), the same for every user of a
 * shared collection, and different for the same path on another upstream or installation.
 *
 * @param key server secret (32 bytes).
 * @param upstreamId the upstream's origin and root, e.g. `http://127.0.0.1:5232`.
 * @param path a collection path (any alias; canonicalized here).
 */
export function proxyTopic(key: Buffer, upstreamId: string, path: string): string {
  return createHmac('sha256', key)
    .update(`${upstreamId}\n${canonicalCollectionPath(path)}`)
    .digest('base64url')
    .slice(0, 22);
}
