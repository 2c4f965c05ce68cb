import { ValidationError } from '@davpush/domain';

export const MAX_TOPIC_LENGTH = 512;
export const MAX_SYNC_TOKEN_LENGTH = 1024;

/** C0 controls, DEL, the XML non-characters U+FFFE/U+FFFF. */
const CONTROL = /[\u0000-\u001f\u007f\uFFFE\uFFFF]/;
const hasUnpairedSurrogate = (s: string) => /[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''));

/** Topics are opaque, but bounded and printable: they end up in XML and in logs (hashed). */
export function assertTopic(topic: string): string {
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new ValidationError(`topic must be 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
  if (CONTROL.test(topic) || hasUnpairedSurrogate(topic)) {
    throw new ValidationError('topic must not contain control characters or unpaired surrogates');
  }
  return topic;
}

/**
 * A sync-token is a URI (RFC 6578 §6.2) carried as XML text in the push-message. Control characters
 * could not be carried unchanged (XML readers turn CR into LF, XML 1.0 §2.11; most C0 cannot be
 * written at all) and would only fail at delivery, after the 202: refused here instead.
 */
export function assertSyncToken(syncToken: string): string {
  if (syncToken.length === 0 || syncToken.length > MAX_SYNC_TOKEN_LENGTH) {
    throw new ValidationError(`syncToken must be 1 to ${MAX_SYNC_TOKEN_LENGTH} characters`);
  }
  if (CONTROL.test(syncToken) || hasUnpairedSurrogate(syncToken)) {
    throw new ValidationError('syncToken must not contain control characters or unpaired surrogates');
  }
  return syncToken;
}

/** The text an event carries into the push-message: its topic and sync-token. */
export function assertEventText(e: { topic: string; syncToken?: string }): void {
  assertTopic(e.topic);
  if (e.syncToken !== undefined) assertSyncToken(e.syncToken);
}
