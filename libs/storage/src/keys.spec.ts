import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TAG_LENGTH, topicTag } from './keys';

/** The tag as documented in keys.ts, computed afresh: SHA-256 over the tenant id and the topic's digest. */
const tagAfresh = (tenantId: string, topic: string) =>
  createHash('sha256')
    .update(`${tenantId}\n${createHash('sha256').update(topic).digest('base64url')}`)
    .digest('hex')
    .slice(0, TAG_LENGTH);

describe('topicTag', () => {
  it('is the documented hash for every topic, remembered or not, before and after the oldest are forgotten', () => {
    // More topics than are remembered, then the first ones again (forgotten by then) and the last
    // ones (still remembered): every answer is the tag computed afresh.
    const topics = Array.from({ length: 5000 }, (_, i) => `/calendars/user${i}/work/`);
    for (const t of topics) expect(topicTag('tenant-a', t)).toBe(tagAfresh('tenant-a', t));
    for (const t of [...topics.slice(0, 50), ...topics.slice(-50)])
      expect(topicTag('tenant-a', t)).toBe(tagAfresh('tenant-a', t));
  });

  it('tells tenants apart for the same topic text', () => {
    expect(topicTag('tenant-a', '/cal/')).toBe(tagAfresh('tenant-a', '/cal/'));
    expect(topicTag('tenant-b', '/cal/')).toBe(tagAfresh('tenant-b', '/cal/'));
    expect(topicTag('tenant-a', '/cal/')).not.toBe(topicTag('tenant-b', '/cal/'));
  });
});
