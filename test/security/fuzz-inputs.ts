import { prng } from './support';

/**
 * Mutation-based input generation for the fuzz suite. Every body is a function of (endpoint, index)
 * alone, through its own seeded PRNG, so a failure report "events #4711" reproduces exactly with
 * `generate('events', 4711)`, whatever ran before it.
 */
export type Rng = () => number;

export interface Generated {
  body: Buffer;
  contentType: string;
}

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, list: readonly T[]): T => list[int(r, list.length)]!;

/** Strings that break naive parsers, escapers and key builders. */
const NASTY = [
  '\u0000',
  '\uFFFE',
  '\uFFFF',
  '\uD800',
  '\uDC00',
  '😀',
  '\u202E',
  '\u2028',
  'é',
  'ß',
  '\r\n',
  '\n',
  '\t',
  '"',
  "'",
  '\\',
  '<',
  '>',
  '&',
  '&amp;',
  '&#0;',
  '&#x110000;',
  '&lt;',
  '&xxe;',
  ']]>',
  '<!--',
  '-->',
  '<![CDATA[',
  '<!DOCTYPE x [<!ENTITY y "z">]>',
  '<?xml version="1.0"?>',
  '%00',
  '%2F..%2F',
  '../',
  '{davpush}',
  '*',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'NaN',
  '-0',
  '1e309',
  'https://127.0.0.1/',
  'http://[::1]/',
  'javascript:alert(1)',
  'dpk_',
  'null',
  'true',
  '[]',
  '{}',
  ':',
  ';',
  ',',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'toString', 'valueOf'];

function randomString(r: Rng): string {
  const kind = int(r, 6);
  if (kind === 0) return pick(r, NASTY);
  if (kind === 1) return 'a'.repeat(int(r, 5) === 0 ? 20_000 : int(r, 600));
  if (kind === 2) return Array.from({ length: 1 + int(r, 12) }, () => pick(r, NASTY)).join('');
  if (kind === 3)
    return String.fromCodePoint(
      ...Array.from({ length: 1 + int(r, 16) }, () => int(r, 0x10ffff + 1)).filter((c) => c < 0xd800 || c > 0xdfff),
    );
  if (kind === 4) return String(int(r, 1e9)).padStart(int(r, 40), '0');
  return Array.from({ length: int(r, 40) }, () => String.fromCharCode(32 + int(r, 95))).join('');
}

/** Stands for a deeply nested array in a tree; spliced in as text (JSON.stringify would recurse). */
const DEEP = (n: number) => `\u0001deep:${n}\u0001`;
const DEEP_TOKEN = /"\\u0001deep:(\d+)\\u0001"/g;

/** Any JSON value, of any type, nested up to `depth`; big arrays only hold scalars (bounded size). */
export function randomJson(r: Rng, depth = 3): unknown {
  switch (int(r, depth > 0 ? 10 : 7)) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return pick(r, [0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 5e-324, 43200, 2_419_201, 1000, 1001]);
    case 3:
      return int(r, 1e6) - 5e5;
    case 4:
    case 5:
    case 6:
      return randomString(r);
    case 7:
      return int(r, 4) === 0
        ? Array.from({ length: int(r, 3000) }, () => (r() < 0.5 ? int(r, 1000) : pick(r, NASTY)))
        : Array.from({ length: int(r, 5) }, () => randomJson(r, depth - 1));
    case 8: {
      const o: Record<string, unknown> = {};
      for (let i = int(r, 5); i > 0; i--)
        Object.defineProperty(o, r() < 0.3 ? pick(r, PROTO_KEYS) : randomString(r), {
          value: randomJson(r, depth - 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    }
    // Deep nesting, deeper than any recursive walker should go.
    default:
      return DEEP(100 + int(r, 20_000));
  }
}

const stringify = (v: unknown): string =>
  JSON.stringify(v).replace(DEEP_TOKEN, (_m, n: string) => `${'['.repeat(Number(n))}${']'.repeat(Number(n))}`);

/** Replaces, deletes or adds one value somewhere inside a parsed JSON document. */
function mutateJsonTree(r: Rng, doc: unknown): unknown {
  if (doc === null || typeof doc !== 'object' || r() < 0.15) return randomJson(r);
  const op = int(r, 4);
  if (Array.isArray(doc)) {
    // Arrays get elements, never named keys: a numeric name like "734221918" would make it sparse and huge.
    if (op === 0 || doc.length === 0) doc.splice(int(r, doc.length + 1), 0, randomJson(r));
    else if (op === 1) doc.splice(int(r, doc.length), 1);
    else {
      const i = int(r, doc.length);
      doc[i] = op === 2 ? randomJson(r) : mutateJsonTree(r, doc[i]);
    }
    return doc;
  }
  const node = doc as Record<string, unknown>;
  const keys = Object.keys(node);
  if (op === 0 || keys.length === 0) {
    // An own property, even for "__proto__": JSON.parse makes it so, and so does this.
    Object.defineProperty(node, r() < 0.5 ? pick(r, PROTO_KEYS) : randomString(r), {
      value: randomJson(r),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else if (op === 1) {
    delete node[pick(r, keys)];
  } else {
    const k = pick(r, keys);
    node[k] = op === 2 ? randomJson(r) : mutateJsonTree(r, node[k]);
  }
  return doc;
}

/** Byte-level damage: flips, truncation, duplication, deletion, insertion of nasty text. */
function mutateBytes(r: Rng, buf: Buffer): Buffer {
  const at = () => int(r, buf.length + 1);
  switch (int(r, 7)) {
    case 0: {
      const b = Buffer.from(buf);
      for (let i = 1 + int(r, 4); i > 0 && b.length; i--) b[int(r, b.length)] = int(r, 256);
      return b;
    }
    case 1:
      return buf.subarray(0, at());
    case 2: {
      const s = at();
      const e = Math.min(buf.length, s + int(r, 200));
      const to = at();
      return Buffer.concat([buf.subarray(0, to), buf.subarray(s, e), buf.subarray(to)]);
    }
    case 3: {
      const s = at();
      return Buffer.concat([buf.subarray(0, s), buf.subarray(Math.min(buf.length, s + int(r, 64)))]);
    }
    case 4: {
      // Duplicate one XML element (or one JSON member) whole: "a known element twice".
      const text = buf.toString('utf8');
      const el = [...text.matchAll(/<([A-Za-z][\w:.-]*)[^>]*>[^<]*<\/\1>|"[^"]*":\s*"[^"]*"/g)];
      if (el.length === 0) return buf;
      const m = pick(r, el);
      return Buffer.from(
        text.slice(0, m.index + m[0].length) +
          (text.startsWith('{') ? ',' : '') +
          m[0] +
          text.slice(m.index + m[0].length),
      );
    }
    case 5: {
      const p = at();
      return Buffer.concat([buf.subarray(0, p), Buffer.from(randomString(r)), buf.subarray(p)]);
    }
    default: {
      const text = buf.toString('utf8');
      const values = [...text.matchAll(/>([^<]+)</g)];
      if (values.length === 0) return buf;
      const m = pick(r, values);
      const start = m.index + 1;
      return Buffer.from(text.slice(0, start) + randomString(r) + text.slice(start + m[1]!.length));
    }
  }
}

const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=utf-16',
  'application/xml; charset=latin1',
  'multipart/form-data; boundary=x',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'text/xml',
];

/** 1 to 3 mutations of a valid document; about one in twenty stays valid so the 2xx path is fuzzed too. */
export function mutate(r: Rng, base: Buffer | unknown, contentType: string): Generated {
  const type = r() < 0.1 ? pick(r, OTHER_TYPES) : contentType;
  if (r() < 0.05) return { body: Buffer.isBuffer(base) ? base : Buffer.from(JSON.stringify(base)), contentType: type };
  let json = Buffer.isBuffer(base) ? undefined : structuredClone(base);
  let body: Buffer | undefined = Buffer.isBuffer(base) ? base : undefined;
  for (let n = 1 + int(r, 3); n > 0; n--) {
    if (json !== undefined && r() < 0.7) json = mutateJsonTree(r, json);
    else {
      body = mutateBytes(r, body ?? Buffer.from(stringify(json)));
      json = undefined;
    }
  }
  return { body: body ?? Buffer.from(stringify(json)), contentType: type };
}

/** A generator per fuzzed endpoint, seeded by (endpoint, index). */
export function rngFor(endpoint: string, index: number, seed: number): Rng {
  let h = seed >>> 0;
  for (const c of endpoint) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return prng((h ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}
