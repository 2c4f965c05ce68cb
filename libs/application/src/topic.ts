import { ValidationError } from '@davpush/domain';

export const MAX_TOPIC_LENGTH = 512;

/** Topics are opaque, but bounded and printable: they end up in XML and in logs (hashed). */
export function assertTopic(topic: string): string {
  if (topic.length === 0 || topic.length > MAX_TOPIC_LENGTH) {
    throw new ValidationError(`topic must be 1 to ${MAX_TOPIC_LENGTH} characters`);
  }
  if (/[\u0000-\u001f\u007f\uFFFE\uFFFF]/.test(topic) || /[\uD800-\uDFFF]/.test(topic.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new ValidationError('topic must not contain control characters or unpaired surrogates');
  }
  return topic;
}
