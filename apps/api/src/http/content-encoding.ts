import type { IncomingMessage } from 'node:http';

/**
 * The request's content codings other than `identity` (RFC 9110 §8.4), lower-cased, or an empty
 * list. davpush reads bodies as sent, so any of them is answered `415` naming it, with
 * `Accept-Encoding: identity` (RFC 9110 §15.5.16, §12.5.3): decoding is the client's job to skip,
 * and reading gzip bytes as UTF-8 would only produce a confusing `400`.
 */
export function unsupportedContentCodings(req: IncomingMessage): string[] {
  const raw = req.headers['content-encoding'];
  if (raw === undefined) return [];
  return String(raw)
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/** The `415` detail for {@link unsupportedContentCodings}, bounded. */
export const contentCodingProblem = (codings: readonly string[]): string =>
  `Content-Encoding ${codings.join(', ').slice(0, 64)} is not supported; send the body without a content coding (identity)`;
