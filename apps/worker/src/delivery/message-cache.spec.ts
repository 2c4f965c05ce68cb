import { describe, expect, it } from 'vitest';
import { MessageCache } from './message-cache';

describe('MessageCache', () => {
  const sut = new MessageCache(Buffer.alloc(32, 7));

  it('builds a dispatch message once and reuses it', () => {
    const a = sut.get('t', 'cal', ['content'], 's1');
    expect(sut.get('t', 'cal', ['content'], 's1')).toBe(a);
    expect(a.payload).toContain('<sync-token>s1</D:sync-token>'.replace('<sync', '<D:sync'));
    expect(a.collapseKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('keeps content-only and property messages apart (never replaced by each other at the push service)', () => {
    const content = sut.get('t', 'cal', ['content'], 's1');
    const both = sut.get('t', 'cal', ['content', 'property'], 's1');
    expect(both.collapseKey).not.toBe(content.collapseKey);
    expect(both.payload).toContain('<property-update/>');
    expect(sut.get('t', 'cal', ['content'], 's2')).not.toBe(content);
    expect(sut.get('other', 'cal', ['content'], 's1').collapseKey).not.toBe(content.collapseKey);
  });
});
