import { UnsupportedMediaTypeError, ValidationError } from '@davpush/domain';
import type { z } from 'zod';
import type { AuthedRequest } from './auth.guards';

export type BodyKind = 'json' | 'xml';

export function bodyKind(req: AuthedRequest, accepted: readonly BodyKind[]): BodyKind {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (accepted.includes('json') && (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type))) return 'json';
  if (accepted.includes('xml') && (type === 'application/xml' || type === 'text/xml')) return 'xml';
  const names = accepted.map((k) => (k === 'json' ? 'application/json' : 'application/xml'));
  throw new UnsupportedMediaTypeError(`Content-Type must be ${names.join(' or ')}${type ? `, not ${type}` : ''}`);
}

export function bodyText(req: AuthedRequest): string {
  const raw = req.rawBody ?? Buffer.alloc(0);
  if (raw.length === 0) throw new ValidationError('the request body is empty');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw);
  // Invalid UTF-8 decodes to U+FFFD; refusing it beats storing mangled keys or topics.
  if (text.includes('\uFFFD')) throw new ValidationError('the request body is not valid UTF-8');
  return text.replace(/^\uFEFF/, '');
}

/** JSON.parse, then a zod schema. Keys like __proto__ are dropped by zod objects (never merged). */
export function parseJson<T extends z.ZodType>(req: AuthedRequest, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(bodyText(req));
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`malformed JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    throw new ValidationError(first.join('; '));
  }
  return parsed.data;
}
