/** ASCII whitespace (WHATWG Infra): what line wrapping and XML pretty-printing put inside a value. */
const ASCII_WHITESPACE = /[\t\n\f\r ]+/g;

/**
 * Decodes base64 as real clients write it, for values whose decoded length the caller then checks
 * (keys, secrets). Accepted, because every form decodes to the same bytes:
 *
 * - the URL-safe alphabet (RFC 4648 §5; the Push API's `toJSON()`, RFC 8291, the WebDAV-Push draft)
 *   and the standard one (RFC 4648 §4; browsers' `btoa()`, Android's `Base64.DEFAULT`), even mixed:
 *   `+`/`-` and `/`/`_` stand for the same 6 bits, no character means two things;
 * - with or without `=` padding (RFC 4648 §3.2);
 * - with ASCII whitespace anywhere: MIME-style line wrapping (`Base64.DEFAULT` wraps at 76
 *   characters, RFC 2045 §6.8) and XML pretty-printing (RFC 4648 §3.3 lets readers ignore it).
 *
 * Refused (`undefined`): any other character, padding that is not at the end or not the length the
 * data needs, and lengths no encoder produces (4n+1 characters). Non-zero trailing bits are ignored,
 * as every decoder does; the caller re-encodes the bytes, so one value has one stored form.
 *
 * Sources: webpush-go issue https://github.com/SherClockHolmes/webpush-go/issues/9, web-push issue
 * https://github.com/web-push-libs/web-push/issues/142 (both alphabets occur in the field).
 */
export function decodeBase64Lenient(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const compact = value.replace(ASCII_WHITESPACE, '');
  const m = /^([A-Za-z0-9+/_-]+)(=*)$/.exec(compact);
  if (!m) return undefined;
  const data = m[1]!;
  const padding = m[2]!.length;
  const rest = data.length % 4;
  if (rest === 1) return undefined;
  if (padding > 0 && padding !== 4 - rest) return undefined;
  return Buffer.from(data.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
}

/** Removes ASCII whitespace from a value that never contains any (FCM tokens, base64 text). */
export const withoutAsciiWhitespace = (value: string): string => value.replace(ASCII_WHITESPACE, '');
