import { ValidationError } from '@davpush/domain';

/** Characters are Unicode code points, in any script: an emoji is one, not two UTF-16 units. */
export const MAX_TOPIC_LENGTH = 512;
export const MAX_SYNC_TOKEN_LENGTH = 1024;
/**
 * A topic travels twice in an FCM data message (`topic`, and inside `push_message`), whose limit is
 * 4096 bytes: 1536 bytes of UTF-8 leave room for both, XML-escaped, and the envelope. Any 512
 * characters of the Basic Multilingual Plane (3 bytes at most each) fit; of emoji and other astral
 * characters (4 bytes each), 384. The sync-token has no byte limit: it is left out when too large.
 */
const MAX_TOPIC_BYTES = 1536;

/** Code points (an unpaired surrogate counts as one; refused anyway). */
export const codePointLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** C0 controls, DEL, the XML non-characters U+FFFE/U+FFFF. */
const CONTROL = /[\u0000-\u001f\u007f\uFFFE\uFFFF]/;
const hasUnpairedSurrogate = (s: string) => /[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

/** Bounded, and free of what XML or a log line cannot carry unchanged. */
function assertCarriedText(value: string, name: string, max: number, maxBytes?: number): string {
  const bounds =
    maxBytes === undefined ? `1 to ${max} characters` : `1 to ${max} characters and at most ${maxBytes} bytes of UTF-8`;
  if (value.length === 0 || codePointLength(value) > max) throw new ValidationError(`${name} must be ${bounds}`);
  if (maxBytes !== undefined && Buffer.byteLength(value, 'utf8') > maxBytes)
    throw new ValidationError(`${name} must be ${bounds}`);
  if (CONTROL.test(value) || hasUnpairedSurrogate(value)) {
    throw new ValidationError(
      `${name} must not contain control characters, the noncharacters U+FFFE and U+FFFF, or unpaired surrogates`,
    );
  }
  return value;
}

/** Topics are opaque, but bounded and printable: they end up in XML and in logs (hashed). */
export const assertTopic = (topic: string): string =>
  assertCarriedText(topic, 'topic', MAX_TOPIC_LENGTH, MAX_TOPIC_BYTES);

/**
 * A sync-token is a URI (RFC 6578 §6.2) carried as XML text in the push-message. Control characters
 * could not be carried unchanged (XML readers turn CR into LF, XML 1.0 §2.11; most C0 cannot be
 * written at all) and would only fail at delivery, after the 202: refused here instead.
 */
const assertSyncToken = (syncToken: string): string => assertCarriedText(syncToken, 'syncToken', MAX_SYNC_TOKEN_LENGTH);

/** The text an event carries into the push-message: its topic and sync-token. */
export function assertEventText(e: { topic: string; syncToken?: string }): void {
  assertTopic(e.topic);
  if (e.syncToken !== undefined) assertSyncToken(e.syncToken);
}
