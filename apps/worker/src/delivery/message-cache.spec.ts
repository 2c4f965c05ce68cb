import { describe, expect, it } from 'vitest';
import { collapseKeyFor } from '@davpush/domain';
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

  it('gives every change of a topic the same collapse key, the one collapseKeyFor computes', () => {
    const first = sut.get('t', 'cal-k', ['content'], 'k1');
    const next = sut.get('t', 'cal-k', ['content'], 'k2');
    expect(next.payload).toContain('k2');
    expect(next.collapseKey).toBe(first.collapseKey);
    expect(first.collapseKey).toBe(collapseKeyFor(Buffer.alloc(32, 7), 't', 'cal-k', ['content']));
  });
});
