import { ValidationError } from '@davpush/domain';

const MAX_TOPIC_LENGTH = 512;
const MAX_SYNC_TOKEN_LENGTH = 1024;

/** C0 controls, DEL, the XML non-characters U+FFFE/U+FFFF. */
const CONTROL = /[\u0000-\u001f\u007f\uFFFE\uFFFF]/;
const hasUnpairedSurrogate = (s: string) => /[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

/** Bounded, and free of what XML or a log line cannot carry unchanged. */
function assertCarriedText(value: string, name: string, max: number): string {
  if (value.length === 0 || value.length > max) throw new ValidationError(`${name} must be 1 to ${max} characters`);
  if (CONTROL.test(value) || hasUnpairedSurrogate(value)) {
    throw new ValidationError(`${name} must not contain control characters or unpaired surrogates`);
  }
  return value;
}

/** Topics are opaque, but bounded and printable: they end up in XML and in logs (hashed). */
export const assertTopic = (topic: string): string => assertCarriedText(topic, 'topic', MAX_TOPIC_LENGTH);

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
