import { describe, expect, it } from 'vitest';
import { ValidationError } from '@davpush/domain';
import { assertEventText as sut } from './topic';

describe('assertEventText: what an event may carry into a push-message', () => {
  it.each([
    ['the shortest topic', { topic: 'a' }],
    ['the longest topic, in any script', { topic: 'あ'.repeat(512) }],
    ['astral characters (surrogate pairs)', { topic: '😀'.repeat(256), syncToken: '😀'.repeat(512) }],
    [
      'characters counted as code points: 257 emoji, a 1024-emoji sync-token',
      { topic: '😀'.repeat(257), syncToken: '😀'.repeat(1024) },
    ],
    ['384 emoji (1536 bytes, the most a topic may have)', { topic: '😀'.repeat(384) }],
    ['XML-special characters', { topic: '&<>"\'', syncToken: 'http://cal.example/sync?a=1&b=<2>' }],
    ['the shortest and longest sync-token', { topic: 't', syncToken: 'x' }],
    ['a 1024-character sync-token', { topic: 't', syncToken: 'x'.repeat(1024) }],
  ])('accepts %s', (_name, event) => {
    expect(() => sut(event)).not.toThrow();
  });

  it.each([
    ['an empty topic', { topic: '' }, /^topic must be 1 to 512/],
    ['a 513-character topic', { topic: 'x'.repeat(513) }, /^topic must be 1 to 512/],
    ['a topic with a line feed', { topic: 'a\nb' }, /^topic must not contain/],
    [
      'a 513-emoji topic',
      { topic: '😀'.repeat(513) },
      /^topic must be 1 to 512 characters and at most 1536 bytes of UTF-8$/,
    ],
    [
      '385 emoji (1540 bytes)',
      { topic: '😀'.repeat(385) },
      /^topic must be 1 to 512 characters and at most 1536 bytes of UTF-8$/,
    ],
    [
      'a topic with U+FFFE',
      { topic: 'a\uFFFEb' },
      /^topic must not contain control characters, the noncharacters U\+FFFE and U\+FFFF, or unpaired surrogates$/,
    ],
    [
      'a sync-token with CR (XML would read it back as LF)',
      { topic: 't', syncToken: 'a\rb' },
      /^syncToken must not contain/,
    ],
    ['a sync-token with a tab', { topic: 't', syncToken: 'a\tb' }, /^syncToken must not contain/],
    [
      'a sync-token with U+0001 (XML cannot carry it)',
      { topic: 't', syncToken: 'a\u0001b' },
      /^syncToken must not contain/,
    ],
    ['a sync-token with a lone surrogate', { topic: 't', syncToken: 'a\uDC00b' }, /^syncToken must not contain/],
    ['a sync-token with U+FFFF', { topic: 't', syncToken: '\uFFFF' }, /^syncToken must not contain/],
    ['an empty sync-token', { topic: 't', syncToken: '' }, /^syncToken must be 1 to 1024/],
    ['a 1025-character sync-token', { topic: 't', syncToken: 'x'.repeat(1025) }, /^syncToken must be 1 to 1024/],
    [
      'a 1025-emoji sync-token',
      { topic: 't', syncToken: '😀'.repeat(1025) },
      /^syncToken must be 1 to 1024 characters$/,
    ],
  ])('refuses %s with a ValidationError naming the field', (_name, event, message) => {
    expect(() => sut(event)).toThrow(ValidationError);
    expect(() => sut(event)).toThrow(message);
  });
});
