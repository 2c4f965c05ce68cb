import { UnsupportedMediaTypeError, ValidationError } from '@davpush/domain';
import type { z } from 'zod';
import type { AuthedRequest } from './auth.guards';

export type BodyKind = 'json' | 'xml';

/** UTF-8 is the only body encoding we read; US-ASCII is a subset of it. */
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'us-ascii']);

export function bodyKind(req: AuthedRequest, accepted: readonly BodyKind[]): BodyKind {
  const [head, ...params] = String(req.headers['content-type'] ?? '').split(';');
  const type = head!.trim().toLowerCase();
  const names = accepted.map((k) => (k === 'json' ? 'application/json' : 'application/xml'));
  const charset = params.map((p) => /^\s*charset\s*=\s*"?([^";\s]*)"?\s*$/i.exec(p)?.[1]).find((c) => c !== undefined);
  if (charset !== undefined && !UTF8_NAMES.has(charset.toLowerCase())) {
    throw new UnsupportedMediaTypeError(`only UTF-8 bodies are accepted, not charset=${charset.slice(0, 32)}`);
  }
  if (accepted.includes('json') && (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)))
    return 'json';
  if (accepted.includes('xml') && (type === 'application/xml' || type === 'text/xml')) return 'xml';
  throw new UnsupportedMediaTypeError(
    `Content-Type must be ${names.join(' or ')}${type ? `, not ${type.slice(0, 64)}` : ''}`,
  );
}

function bodyText(req: AuthedRequest): string {
  const raw = req.rawBody ?? Buffer.alloc(0);
  if (raw.length === 0) throw new ValidationError('the request body is empty');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw);
  // Invalid UTF-8 decodes to U+FFFD; refusing it beats storing mangled keys or topics.
  if (text.includes('\uFFFD')) throw new ValidationError('the request body is not valid UTF-8');
  // NUL is valid UTF-8 but never valid in XML or JSON text; it is how UTF-16 without a BOM looks.
  if (text.includes('\u0000'))
    throw new ValidationError('the request body contains NUL characters (only UTF-8 is accepted)');
  return text.replace(/^\uFEFF/, '');
}

/**
 * An XML body's own encoding declaration must agree with what we decode it as: a document that
 * says `encoding="UTF-16"` but arrives as UTF-8 is refused rather than read one way here and
 * another way by the calendar server that forwarded it.
 */
export function xmlBodyText(req: AuthedRequest): string {
  const text = bodyText(req);
  const declared = /^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']/.exec(text)?.[1];
  if (declared !== undefined && !UTF8_NAMES.has(declared.toLowerCase())) {
    throw new ValidationError(`only UTF-8 XML is accepted, not encoding="${declared.slice(0, 32)}"`);
  }
  return text;
}

/** JSON.parse, then a zod schema. Keys like __proto__ are dropped by zod objects (never merged). */
export function parseJson<T extends z.ZodType>(req: AuthedRequest, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(bodyText(req));
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    // V8's message quotes the input around the error; a bounded excerpt is enough to find it.
    throw new ValidationError(`malformed JSON: ${String((err as Error).message).slice(0, 160)}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ValidationError(first.join('; '));
  }
  return parsed.data;
}
