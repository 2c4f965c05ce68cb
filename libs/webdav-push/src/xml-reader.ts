import { DOMParser, type Document, type Element, type Node } from '@xmldom/xmldom';
import { ValidationError } from '@davpush/domain';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;

export interface XmlLimits {
  /** What the document is, for messages ("push-register body"). */
  what: string;
  /** Bytes of UTF-8 text accepted at most. */
  maxBytes: number;
  /** Element nesting accepted at most. */
  maxDepth: number;
  /** Bytes of one text or CDATA node accepted at most. */
  maxTextBytes: number;
}

/**
 * Parses a bounded XML document: no DOCTYPE or entity declarations (nothing a client sends is ever
 * evaluated as entities: billion laughs, XXE), a size cap before parsing, then depth and text-node
 * caps on the tree. Any problem xmldom reports is a refusal, never a silently repaired tree.
 *
 * @throws ValidationError naming the problem.
 */
export function parseBoundedXml(xml: string, limits: XmlLimits): Document {
  if (Buffer.byteLength(xml, 'utf8') > limits.maxBytes) {
    throw new ValidationError(`${limits.what} exceeds ${limits.maxBytes / 1024} KiB`);
  }
  if (/<!(?:DOCTYPE|ENTITY)/i.test(xml)) {
    throw new ValidationError('DOCTYPE and entity declarations are not allowed');
  }
  // XML forbids anything before the declaration, but a BOM or a stray newline from a proxy or a
  // template is harmless and common; strip it rather than answer 400.
  const source = xml.replace(/^[\uFEFF\s]+/, '');
  if (source === '') throw new ValidationError('malformed XML: the body is empty');

  let problem: string | undefined;
  const parser = new DOMParser({
    // What onError throws comes back wrapped in a ParseError, so keep the first message.
    onError: (_level, message) => {
      problem ??= message;
      throw new Error(message);
    },
  });
  let doc: Document;
  try {
    doc = parser.parseFromString(source, 'application/xml');
  } catch (err) {
    throw new ValidationError(`malformed XML: ${problem ?? (err instanceof Error ? err.message : String(err))}`);
  }
  if (!doc.documentElement) throw new ValidationError('malformed XML: missing root element');
  checkBounds(doc.documentElement, limits);
  return doc;
}

/**
 * Depth and text-size limits, checked on the tree rather than by scanning the text, which cannot
 * tell markup from CDATA or comments; the byte cap already bounds the parse itself.
 */
function checkBounds(root: Element, limits: XmlLimits): void {
  const stack: Array<{ node: Node; depth: number }> = [{ node: root, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) {
      if (Buffer.byteLength(node.nodeValue ?? '', 'utf8') > limits.maxTextBytes) {
        const where = node.parentNode?.nodeName ?? 'the document';
        throw new ValidationError(`a text node in ${where} exceeds ${limits.maxTextBytes / 1024} KiB`);
      }
      continue;
    }
    if (node.nodeType !== ELEMENT_NODE) continue;
    if (depth > limits.maxDepth) {
      throw new ValidationError(`elements are nested deeper than ${limits.maxDepth} levels`);
    }
    for (let child = node.firstChild; child; child = child.nextSibling) {
      stack.push({ node: child, depth: depth + 1 });
    }
  }
}

/** The element children of `parent`, optionally only those named (namespace, local name). */
export function elementChildren(parent: Node, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let child = parent.firstChild; child; child = child.nextSibling) {
    if (child.nodeType !== ELEMENT_NODE) continue;
    const el = child as Element;
    if (ns !== undefined && (el.namespaceURI !== ns || el.localName !== localName)) continue;
    out.push(el);
  }
  return out;
}
