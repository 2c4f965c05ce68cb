import { describe, expect, it } from 'vitest';
import { canonicalCollectionPath, proxyTopic } from './proxy-topic';

const key = Buffer.alloc(32, 7);

describe('canonicalCollectionPath', () => {
  it.each([
    ['/alice/cal/', '/alice/cal/'],
    ['/alice/cal', '/alice/cal/'],
    ['/alice//cal/', '/alice/cal/'],
    ['/alice/%63al/', '/alice/cal/'],
    ['/alice/./x/../cal/', '/alice/cal/'],
    ['/../../alice/cal', '/alice/cal/'],
    ['/', '/'],
    ['', '/'],
    ['/a/%E0%A4%A/', '/a/%E0%A4%A/'],
    ['/a/b%20c/', '/a/b c/'],
  ])('%s → %s', (input, expected) => {
    expect(canonicalCollectionPath(input)).toBe(expected);
  });
});

describe('proxyTopic', () => {
  it('is the same for every alias of a collection', () => {
    const t = proxyTopic(key, 'http://127.0.0.1:5232', '/alice/cal/');
    expect(proxyTopic(key, 'http://127.0.0.1:5232', '/alice//%63al')).toBe(t);
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('names neither the user nor the collection', () => {
    const t = proxyTopic(key, 'http://127.0.0.1:5232', '/alice/calendar/');
    expect(t.toLowerCase()).not.toContain('alice');
    expect(t.toLowerCase()).not.toContain('calendar');
  });

  it('differs per collection, per upstream and per key', () => {
    const t = proxyTopic(key, 'http://127.0.0.1:5232', '/alice/cal/');
    expect(proxyTopic(key, 'http://127.0.0.1:5232', '/alice/cal2/')).not.toBe(t);
    expect(proxyTopic(key, 'http://127.0.0.1:5233', '/alice/cal/')).not.toBe(t);
    expect(proxyTopic(Buffer.alloc(32, 8), 'http://127.0.0.1:5232', '/alice/cal/')).not.toBe(t);
  });
});
