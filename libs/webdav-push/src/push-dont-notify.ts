/**
 * `Push-Dont-Notify` (draft-bitfire-webdav-push-00, "Suppressing notifications"):
 *
 *     Push-Dont-Notify = 1#(quoted-registration-url) / "*"
 *
 * i.e. an RFC 9110 §5.6.1 comma-separated list of quoted-strings (RFC 9110 §5.6.4), or `*`. A field
 * may arrive as several header lines (RFC 9110 §5.3: equivalent to one line joined by commas), with
 * optional whitespace around each element. Calendar servers often forward the value as-is, quotes
 * included, and clients sometimes omit the quotes; both are accepted. CR and LF count as whitespace:
 * a value forwarded with its line folding (obs-fold, RFC 9112 §5.2) keeps every element.
 *
 * `*` means every registration only as the field's sole element: the grammar has no list with `*`
 * in it, so a `*` among URLs is an invalid element, ignored like any other, and the URLs count.
 *
 * @param lines each header line (or each string a caller received), in order; `undefined` entries skipped.
 * @returns `'*'` when the field's only element is `*`; otherwise the unquoted URLs, in order, without
 *   empties or duplicates. Invalid elements are dropped (the draft: servers MUST ignore invalid values). Never throws.
 */
export function parsePushDontNotify(lines: readonly (string | undefined)[]): '*' | string[] {
  // A Set keeps insertion order and makes a long list linear (a value may hold thousands of URLs).
  const urls = new Set<string>();
  let elements = 0;
  let star = false;
  for (const line of lines) {
    if (typeof line !== 'string') continue;
    for (const element of splitList(line)) {
      elements++;
      if (element === '*') {
        star = true;
        continue;
      }
      const url = unquote(element);
      if (url !== undefined && url.length > 0) urls.add(url);
    }
  }
  return star && elements === 1 ? '*' : [...urls];
}

/** Splits on commas outside quoted-strings and trims optional whitespace (SP / HTAB, and CR / LF). */
function splitList(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '\\' && i + 1 < line.length) {
      current += c + line[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  out.push(current);
  return out.map((e) => e.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '')).filter((e) => e.length > 0);
}

/** A quoted-string loses its quotes and quoted-pairs; a bare token is taken as it is; anything else is invalid. */
function unquote(element: string): string | undefined {
  if (element.startsWith('"')) {
    if (element.length < 2 || !element.endsWith('"') || element.endsWith('\\"')) return undefined;
    return element.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return /^[\x21-\x7e]+$/.test(element) && !element.includes('"') ? element : undefined;
}
