import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOMParser, type Element } from '@xmldom/xmldom';

/** Test support: fixtures and a namespace-aware view of a document, independent of prefixes. */

export function fixture(name: string): string {
  return readFileSync(join(__dirname, name), 'utf8');
}

/**
 * Parses strictly: any xmldom report fails the test instead of being repaired silently. Warnings can
 * be let through for documents that deliberately carry U+FFFD, which xmldom warns about.
 */
export function readXml(xml: string, { allowWarnings = false } = {}): Element {
  const doc = new DOMParser({
    onError: (level, message) => {
      if (level === 'warning' && allowWarnings) return;
      throw new Error(`${level}: ${message}`);
    },
  }).parseFromString(xml, 'application/xml');
  if (!doc.documentElement) throw new Error('no root element');
  return doc.documentElement;
}

/** An element as a reader that matches (namespace, local name) sees it. */
export interface XmlTree {
  /** Clark notation: `{namespace}local`, or `local` without a namespace. */
  name: string;
  attrs?: Record<string, string>;
  text?: string;
  children?: XmlTree[];
}

/** Whitespace-only text between elements is dropped; namespace declarations are not attributes. */
export function tree(el: Element): XmlTree {
  const node: XmlTree = { name: el.namespaceURI ? `{${el.namespaceURI}}${el.localName}` : el.localName! };
  const attrs: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) {
    const a = el.attributes.item(i)!;
    if (a.name !== 'xmlns' && a.prefix !== 'xmlns') attrs[a.name] = a.value;
  }
  if (Object.keys(attrs).length > 0) node.attrs = attrs;
  const children: XmlTree[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) if (c.nodeType === 1) children.push(tree(c as Element));
  if (children.length > 0) node.children = children;
  else if ((el.textContent ?? '').trim() !== '') node.text = el.textContent!.trim();
  return node;
}

export const readTree = (xml: string, options?: { allowWarnings?: boolean }): XmlTree => tree(readXml(xml, options));
