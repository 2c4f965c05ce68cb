import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { KEY_ROTATION_MESSAGE, pushMessageFor, WEB_PUSH_MAX_PLAINTEXT_BYTES, type ChangeKind } from '@davpush/domain';
import { buildPushMessageWithin as sut, PushMessageTooLargeError } from './push-message.builder';

const NS = 'https://bitfire.at/webdav-push';

/** The longest text of each kind the events API accepts: 512 characters (code points) of topic, 1024 of sync-token. */
const fill = (unit: string, codePoints: number) => unit.repeat(Math.floor(codePoints / [...unit].length));
const UNITS: Array<[string, string]> = [
  ['ASCII', 'a'],
  ['ampersands (5 bytes each in XML)', '&'],
  ['less-than signs (4 bytes each in XML)', '<'],
  ['greater-than signs', '>'],
  ['quotes', '"'],
  ['Japanese (3 bytes of UTF-8 each)', 'あ'],
  ['emoji (4 bytes per surrogate pair)', '😀'],
  ['astral CJK (U+20000, 4 bytes each)', '\u{20000}'],
  ['U+2028', '\u2028'],
];

/** What the document must contain for a reader to get `value` back (xmlbuilder2 escapes these three). */
const escaped = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function read(xml: string) {
  const root = new DOMParser().parseFromString(xml, 'application/xml').documentElement!;
  return {
    topic: root.getElementsByTagNameNS(NS, 'topic')[0]?.textContent,
    syncToken: root.getElementsByTagNameNS('DAV:', 'sync-token')[0]?.textContent ?? undefined,
    content: root.getElementsByTagNameNS(NS, 'content-update').length,
    property: root.getElementsByTagNameNS(NS, 'property-update').length,
  };
}

describe('buildPushMessageWithin: every message fits one Web Push record (RFC 8291 §4)', () => {
  it('keeps a message that fits exactly as it is, sync-token included', () => {
    const m = pushMessageFor('cal-1', ['content'], 'http://cal.example/sync/42');
    const r = sut(m, WEB_PUSH_MAX_PLAINTEXT_BYTES);
    expect(r.shrunk).toBe(false);
    expect(r.message).toBe(m);
    expect(read(r.payload)).toEqual({
      topic: 'cal-1',
      syncToken: 'http://cal.example/sync/42',
      content: 1,
      property: 0,
    });
  });

  it('C1: a 512-character Japanese topic and a 1024-character non-ASCII sync-token → sent without the sync-token', () => {
    const topic = fill('日本語のカレンダー', 512);
    const syncToken = `https://cal.example/同期/${fill('ー', 1000)}`;
    const r = sut(pushMessageFor(topic, ['content', 'property'], syncToken), WEB_PUSH_MAX_PLAINTEXT_BYTES);
    expect(r.shrunk).toBe(true);
    expect(Buffer.byteLength(r.payload)).toBeLessThanOrEqual(3993);
    expect(read(r.payload)).toEqual({ topic, syncToken: undefined, content: 1, property: 1 });
    expect(r.message).toEqual({ topic, contentUpdate: {}, propertyUpdate: {} });
  });

  describe.each(UNITS)('topic of %s', (_t, topicUnit) => {
    it.each(UNITS)(
      'and sync-token of %s: within 3993 bytes, topic intact, sync-token whole or absent',
      (_s, tokenUnit) => {
        for (const kinds of [['content'], ['property'], ['content', 'property']] as ChangeKind[][]) {
          const topic = fill(topicUnit, 512);
          const syncToken = fill(tokenUnit, 1024);
          const r = sut(pushMessageFor(topic, kinds, syncToken), WEB_PUSH_MAX_PLAINTEXT_BYTES);
          expect(Buffer.byteLength(r.payload, 'utf8')).toBeLessThanOrEqual(WEB_PUSH_MAX_PLAINTEXT_BYTES);
          // Compared as written, not as parsed: xmldom reads U+2028 as a line break (XML 1.1 rules).
          expect(r.payload).toContain(`<topic>${escaped(topic)}</topic>`);
          const carriesToken = kinds.includes('content') && !r.shrunk;
          expect(r.payload.includes(`<D:sync-token>${escaped(syncToken)}</D:sync-token>`)).toBe(carriesToken);
          expect(r.payload.includes('sync-token')).toBe(carriesToken);
          const got = read(r.payload);
          expect([got.content, got.property]).toEqual([
            kinds.includes('content') ? 1 : 0,
            kinds.includes('property') ? 1 : 0,
          ]);
        }
      },
    );
  });

  it('shrinking is deterministic: the same input always gives the same bytes', () => {
    const m = pushMessageFor(fill('&', 512), ['content'], fill('<', 1024));
    expect(sut(m, WEB_PUSH_MAX_PLAINTEXT_BYTES).payload).toBe(sut(m, WEB_PUSH_MAX_PLAINTEXT_BYTES).payload);
  });

  it('the message davpush composes itself (VAPID key rotation) fits', () => {
    expect(sut(KEY_ROTATION_MESSAGE, WEB_PUSH_MAX_PLAINTEXT_BYTES).shrunk).toBe(false);
  });

  it('refuses, never truncates, what cannot fit even without the sync-token', () => {
    expect(() => sut(pushMessageFor('x'.repeat(400), ['content'], 's'), 300)).toThrow(PushMessageTooLargeError);
  });
});
